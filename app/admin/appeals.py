"""The appeals queue (申诉队列): one appeal beside the decision it contests, and the second decision."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import StringField
from wtforms.validators import AnyOf, InputRequired, Length

from app.admin import bp
from app.admin.access import staff_required
from app.admin.forms import AdminForm
from app.errors import DomainError, NotFound
from app.models import AppealStatus, StaffRole
from app.services import appeals
from app.services import track_analysis as tracks

QUEUE_PAGE = 50
REVIEWERS = (StaffRole.MODERATOR, StaffRole.ADMIN)
TRACK_BOX = 240  # px: the refused trip's track drawn as an SVG polyline of this size


class AppealDecisionForm(AdminForm):
    decision = StringField("处理结果", validators=[
        InputRequired("请选择批准或驳回"), AnyOf(list(appeals.DECISIONS), message="请选择批准或驳回")])
    reason = StringField("处理理由（必填，用户可见）", validators=[
        InputRequired("请填写处理理由"), Length(max=appeals.MAX_REASON, message="理由至多 255 个字符")])


@bp.get("/appeals")
@staff_required(*REVIEWERS)
def appeals_queue():
    after = request.args.get("after", type=int)
    queue = appeals.appeal_queue(limit=QUEUE_PAGE, after_id=after)
    more = url_for("admin.appeals_queue", after=queue.items[-1].id) if len(queue.items) == QUEUE_PAGE else None
    return render_template("admin/appeals/queue.html", queue=queue, after=after, more=more)


def _detail_page(appeal_id: int, form: AppealDecisionForm, status: int = 200):
    detail = appeals.appeal_detail(appeal_id)
    refusal = detail.refusal
    track = _track_polyline(refusal.track) if refusal is not None and refusal.track else None
    return render_template("admin/appeals/detail.html", detail=detail, form=form, track=track, box=TRACK_BOX,
                           own_rejection=detail.appeal.first_decided_by == current_user.staff_id,
                           awaiting_decision=detail.appeal.status == AppealStatus.PENDING), status


@bp.get("/appeals/<int:appeal_id>")
@staff_required(*REVIEWERS)
def appeal(appeal_id: int):
    return _detail_page(appeal_id, AppealDecisionForm())


@bp.post("/appeals/<int:appeal_id>")
@staff_required(*REVIEWERS)
def decide_appeal(appeal_id: int):
    form = AppealDecisionForm()
    if not form.validate_on_submit():
        return _detail_page(appeal_id, form, 422)
    try:
        decided = appeals.decide_appeal(appeal_id, current_user.staff_id, form.decision.data, form.reason.data)
    except NotFound:
        raise
    except DomainError as exc:
        # Same moderator, already decided, a cap or a meal slot taken since: said on the appeal's page.
        flash(f"申诉 #{appeal_id}：{exc.message}", "danger")
        return _detail_page(appeal_id, form, exc.status)
    outcome = "已批准" if decided.status == AppealStatus.GRANTED else "已驳回"
    credited = f"，记录 #{decided.granted_record_id} 已入账" if decided.granted_record_id else ""
    flash(f"申诉 #{appeal_id} {outcome}{credited}", "success")
    return redirect(url_for("admin.appeals_queue"))


def _track_polyline(raw_track: list) -> str | None:
    """The track's points scaled into the SVG box (north up), for the moderator to see its shape."""
    try:
        points = tracks.parse_track(raw_track)
    except DomainError:
        return None
    if len(points) < 2:
        return None
    lats, lngs = [p.lat for p in points], [p.lng for p in points]
    span = max(max(lats) - min(lats), max(lngs) - min(lngs)) or 1e-9
    scale = (TRACK_BOX - 20) / span
    return " ".join(f"{10 + (p.lng - min(lngs)) * scale:.1f},{TRACK_BOX - 10 - (p.lat - min(lats)) * scale:.1f}"
                    for p in points)
