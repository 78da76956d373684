"""The emission factor catalog for admins (排放因子): every version with its source, and publishing a new
version of a factor from now or a later start (records keep the version they were computed with)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from app.admin import bp
from app.admin.access import staff_required
from app.admin.labels import KINDS, SUBTYPES, UNITS, plain
from app.errors import DuplicateRecord, ValidationFailed
from app.models import StaffRole
from app.services import clock, factors


class FactorForm(FlaskForm):
    """Parsing and the messages a person reads; the rules are the factors service's."""

    factor = SelectField("排放因子", validators=[InputRequired("请选择排放因子")])
    grams_per_unit = StringField("每单位减排量（克）", validators=[InputRequired("请输入每单位克数")])
    source = StringField("来源", validators=[
        InputRequired("请填写来源"), Length(max=factors.MAX_SOURCE, message=f"来源至多 {factors.MAX_SOURCE} 个字符")])
    # Empty: in force at once. Local time in APP_TIMEZONE, read back as aware.
    valid_from = DateTimeLocalField("生效时间（留空即立即生效）", validators=[Optional()],
                                    format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
                                    tz=clock.app_zone, invalid_value_message="请按 年-月-日 时:分 填写时间")

    def validate_grams_per_unit(self, field) -> None:
        try:
            factors.parse_grams(field.data)
        except ValidationFailed as exc:
            raise ValidationError(exc.message) from None


def factor_name(kind: str, subtype: str) -> str:
    return KINDS.get(kind, kind) + (f" · {SUBTYPES.get(subtype, subtype)}" if subtype else "")


def _form(history: list[factors.FactorHistory], submitted: bool) -> FactorForm:
    form = FactorForm() if submitted else FactorForm(formdata=None)
    form.factor.choices = [(f"{h.kind}:{h.subtype}", factor_name(h.kind, h.subtype)) for h in history]
    return form


def _page(form: FactorForm, history: list[factors.FactorHistory], status: int = 200):
    return render_template("admin/factors/list.html", history=history, form=form, factor_name=factor_name,
                           plain=plain, now=clock.now()), status


@bp.get("/factors", endpoint="factors")  # the navigation looks for admin.factors
@staff_required(StaffRole.ADMIN)
def factor_list():
    history = factors.catalog_history()
    return _page(_form(history, submitted=False), history)


@bp.post("/factors")
@staff_required(StaffRole.ADMIN)
def factor_publish():
    history = factors.catalog_history()
    form = _form(history, submitted=True)
    if not form.validate_on_submit():
        return _page(form, history, 422)
    kind, _, subtype = form.factor.data.partition(":")
    try:
        factor = factors.publish_factor(kind, subtype, form.grams_per_unit.data, form.source.data,
                                        form.valid_from.data, current_user.staff_id)
    except (ValidationFailed, DuplicateRecord) as exc:
        target = {"grams_per_unit": form.grams_per_unit, "source": form.source}.get(
            exc.details.get("field"), form.valid_from)
        target.errors = [*target.errors, exc.message]
        return _page(form, factors.catalog_history(), exc.status)
    starts = "立即生效" if factor.valid_from <= clock.now() else \
        f"将于 {factor.valid_from.astimezone(clock.app_zone()):%Y-%m-%d %H:%M} 生效"
    flash(f"已发布{factor_name(factor.kind, factor.subtype)} 第 {factor.version} 版："
          f"{plain(factor.grams_per_unit)} 克/{UNITS.get(factor.unit, factor.unit)}，{starts}", "success")
    return redirect(url_for("admin.factors"))
