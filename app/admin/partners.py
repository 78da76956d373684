"""Data partners (合作方) for admins: create one and show its secret once, suspend or resume it, rotate its
secret, and read every event it pushed, accepted or refused (the audit trail)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from app.admin import bp
from app.admin.access import staff_required
from app.errors import DuplicateRecord
from app.models import StaffRole
from app.models.partners import PartnerEventStatus
from app.services import partners

EVENTS_PAGE = 50
KIND_LABELS = {"travel": "绿色出行", "recycling": "旧物回收", "sorting": "垃圾分类", "meal": "环保饮食"}


class PartnerForm(FlaskForm):
    name = StringField("名称", validators=[InputRequired("请输入名称"), Length(max=100, message="名称至多 100 个字符")])
    kinds = SelectMultipleField("可上报的行为", choices=[SelectChoice(k, v) for k, v in KIND_LABELS.items()],
                                widget=widgets.ListWidget(prefix_label=False),
                                option_widget=widgets.CheckboxInput(),
                                validators=[InputRequired("至少选择一种行为")])


@bp.get("/partners", endpoint="partners")  # the navigation looks for admin.partners
@staff_required(StaffRole.ADMIN)
def partner_list():
    return render_template("admin/partners/list.html", partners=partners.all_partners(),
                           counts=partners.event_counts(), binding_count=partners.binding_count,
                           kind_labels=KIND_LABELS, form=PartnerForm(formdata=None))


@bp.post("/partners")
@staff_required(StaffRole.ADMIN)
def partner_create():
    form = PartnerForm()
    if not form.validate_on_submit():
        return _list_with_errors(form, 422)
    try:
        partner, secret = partners.create_partner(form.name.data, form.kinds.data, current_user.staff_id)
    except DuplicateRecord as exc:  # e.g. the credentials page refreshed: the form is posted again
        form.name.errors.append(exc.message)
        return _list_with_errors(form, 409)
    return _credentials_page(partner, secret, "已创建合作方")


def _list_with_errors(form: PartnerForm, status: int):
    return render_template("admin/partners/list.html", partners=partners.all_partners(),
                           counts=partners.event_counts(), binding_count=partners.binding_count,
                           kind_labels=KIND_LABELS, form=form), status


@bp.post("/partners/<int:partner_id>/rotate")
@staff_required(StaffRole.ADMIN)
def partner_rotate(partner_id: int):
    partner, secret = partners.rotate_secret(partner_id, current_user.staff_id)
    return _credentials_page(partner, secret, "已更换密钥，旧密钥立即失效")


def _credentials_page(partner, secret: str, title: str):
    """The only time the secret is shown: it is derived, never stored, and this page is not cached."""
    return render_template("admin/partners/credentials.html", partner=partner, secret=secret, title=title)


@bp.post("/partners/<int:partner_id>/status")
@staff_required(StaffRole.ADMIN)
def partner_status(partner_id: int):
    suspend = request.form.get("action") == "suspend"
    partner = partners.set_suspended(partner_id, suspend, current_user.staff_id)
    flash(f"已{'暂停' if suspend else '恢复'}合作方「{partner.name}」", "success")
    return redirect(url_for("admin.partners"))


@bp.get("/partners/<int:partner_id>/events")
@staff_required(StaffRole.ADMIN)
def partner_events(partner_id: int):
    partner = partners.get_partner(partner_id)
    status = request.args.get("status") if request.args.get("status") in (
        PartnerEventStatus.ACCEPTED, PartnerEventStatus.REFUSED) else None
    before = request.args.get("before", type=int)
    events = partners.event_page(partner_id, EVENTS_PAGE, before_id=before, status=status)
    older = events[-1].id if len(events) == EVENTS_PAGE else None
    return render_template("admin/partners/events.html", partner=partner, events=events, status=status,
                           older=older, kind_labels=KIND_LABELS)
