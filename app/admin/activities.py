"""Admin pages for low-carbon activities (活动): create, edit, cancel, the check-in code, and manual check-in."""

from __future__ import annotations

from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import DateTimeLocalField, DecimalField, FloatField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from app.admin import bp
from app.admin.access import staff_required
from app.admin.forms import AdminForm, aware, local_input, show_service_error
from app.errors import DomainError, NotFound, ValidationFailed
from app.models import Activity, StaffRole
from app.services import activities, clock

PAGE = 50


class ActivityForm(AdminForm):
    title = StringField("标题", validators=[InputRequired("请输入标题"),
                                          Length(max=100, message="标题至多 100 个字符")])
    description = TextAreaField("介绍", validators=[Optional(), Length(max=5000, message="介绍至多 5000 个字符")])
    address = StringField("地址", validators=[InputRequired("请输入地址"),
                                            Length(max=255, message="地址至多 255 个字符")])
    lat = FloatField("纬度", validators=[InputRequired("请输入纬度")])
    lng = FloatField("经度", validators=[InputRequired("请输入经度")])
    starts_at = DateTimeLocalField("开始时间（北京时间）", format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired("请输入开始时间")])
    ends_at = DateTimeLocalField("结束时间（北京时间）", format="%Y-%m-%dT%H:%M",
                                 validators=[InputRequired("请输入结束时间")])
    capacity = IntegerField("名额", validators=[InputRequired("请输入名额")])
    points = DecimalField("签到积分", default=0, validators=[Optional()])

    def activity_input(self) -> activities.ActivityInput:
        return activities.ActivityInput(
            title=self.title.data, description=self.description.data or "", address=self.address.data,
            lat=self.lat.data, lng=self.lng.data, starts_at=aware(self.starts_at.data),
            ends_at=aware(self.ends_at.data), capacity=self.capacity.data,
            points=self.points.data if self.points.data is not None else Decimal(0))


class ActionForm(AdminForm):
    """A button that only carries its CSRF token (cancel, check in)."""


def _find(activity_id: int) -> Activity:
    return activities.get_activity(activity_id)


@bp.get("/activities", endpoint="activities")
@staff_required(StaffRole.ADMIN)
def activities_list():
    page = max(request.args.get("page", 1, type=int), 1)
    return render_template("admin/activities/list.html", activities=activities.admin_activities(page, PAGE),
                           now=clock.now())


def _form_page(form: ActivityForm, activity: Activity | None, status: int = 200):
    return render_template("admin/activities/form.html", form=form, activity=activity), status


def _save(form: ActivityForm, activity: Activity | None):
    if not form.validate_on_submit():
        return _form_page(form, activity, 422)
    try:
        if activity is None:
            saved = activities.create_activity(form.activity_input(), staff_id=current_user.staff_id)
        else:
            saved = activities.update_activity(activity.id, form.activity_input(), staff_id=current_user.staff_id)
    except ValidationFailed as exc:
        show_service_error(form, exc)
        return _form_page(form, activity, exc.status)
    flash(f"活动《{saved.title}》已保存", "success")
    return redirect(url_for("admin.activity", activity_id=saved.id))


@bp.route("/activities/new", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def activity_new():
    form = ActivityForm()
    return _form_page(form, None) if request.method == "GET" else _save(form, None)


@bp.get("/activities/<int:activity_id>")
@staff_required(StaffRole.ADMIN)
def activity(activity_id: int):
    found = _find(activity_id)
    opens, closes = activities.checkin_window(found)
    return render_template("admin/activities/detail.html", activity=found, signups=activities.signups_of(found.id),
                           action_form=ActionForm(), opens=opens, closes=closes, now=clock.now())


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def activity_edit(activity_id: int):
    found = _find(activity_id)
    if request.method == "GET":
        form = ActivityForm(obj=found)
        form.starts_at.data, form.ends_at.data = local_input(found.starts_at), local_input(found.ends_at)
        return _form_page(form, found)
    return _save(ActivityForm(), found)


@bp.post("/activities/<int:activity_id>/cancel")
@staff_required(StaffRole.ADMIN)
def activity_cancel(activity_id: int):
    if ActionForm().validate_on_submit():
        activities.cancel_activity(activity_id, staff_id=current_user.staff_id)
        flash("活动已取消：用户将看到“已取消”，不能再报名或签到", "success")
    return redirect(url_for("admin.activity", activity_id=activity_id))


@bp.post("/activities/<int:activity_id>/signups/<int:signup_id>/checkin")
@staff_required(StaffRole.ADMIN)
def activity_checkin(activity_id: int, signup_id: int):
    if ActionForm().validate_on_submit():
        try:
            result = activities.check_in_by_staff(activity_id, signup_id, current_user.staff_id)
        except NotFound:
            abort(404)
        except DomainError as exc:  # already checked in, activity cancelled
            flash(f"报名 #{signup_id}：{exc.message}", "warning")
        else:
            flash(f"报名 #{signup_id} 已签到，发放 {result.points} 积分", "success")
    return redirect(url_for("admin.activity", activity_id=activity_id) + f"#signup-{signup_id}")
