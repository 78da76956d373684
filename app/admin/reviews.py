"""The review queue (审核队列), one record in context, the decision, and photos for staff."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from app.admin import bp
from app.admin.access import staff_required
from app.admin.forms import DecisionForm
from app.admin.labels import DATA_FIELDS, decision_summary
from app.errors import ValidationFailed
from app.models import StaffRole
from app.services import explanations, moderation

QUEUE_PAGE = 50
REVIEWERS = (StaffRole.MODERATOR, StaffRole.ADMIN)


@bp.get("/")
@staff_required()
def index():
    return redirect(url_for("admin.reviews"))


@bp.get("/reviews")
@staff_required(*REVIEWERS)
def reviews():
    after = request.args.get("after", type=int)
    queue = moderation.review_queue(limit=QUEUE_PAGE, after_id=after)
    more = url_for("admin.reviews", after=queue.items[-1].id) if len(queue.items) == QUEUE_PAGE else None
    return render_template("admin/queue.html", queue=queue, after=after, more=more)


def _detail_page(record_id: int, form: DecisionForm, status: int = 200):
    detail = moderation.review_detail(record_id)
    if not form.is_submitted() and detail.record.kind == "recycling":
        form.weight_kg.data = str(detail.record.quantity)
    return render_template("admin/review.html", detail=detail, form=form,
                           explanation=explanations.explain(detail.record)), status


@bp.get("/reviews/<int:record_id>")
@staff_required(*REVIEWERS)
def review(record_id: int):
    return _detail_page(record_id, DecisionForm())


@bp.post("/reviews/<int:record_id>")
@staff_required(*REVIEWERS)
def decide(record_id: int):
    form = DecisionForm()
    if not form.validate_on_submit():
        return _detail_page(record_id, form, 422)
    try:
        record = moderation.decide(record_id, current_user.staff_id, form.decision.data, form.reason.data,
                                   form.weight)
    except ValidationFailed as exc:
        # Keep what the moderator typed: show the page again with the service's reason.
        flash(_with_field(exc), "danger")
        return _detail_page(record_id, form, exc.status)
    except moderation.AlreadyDecided as exc:
        flash(f"记录 #{record_id}：{exc.message}", "warning")
    else:
        flash(decision_summary(record), "success")
    return _next_pending()


def _with_field(exc: ValidationFailed) -> str:
    field = exc.details.get("field")
    if not field or field in exc.message:
        return exc.message
    return f"{exc.message}：{DATA_FIELDS.get(field, field)}"


def _next_pending():
    queue = moderation.review_queue(limit=1)
    if not queue.items:
        flash("待审核队列已清空", "info")
        return redirect(url_for("admin.reviews"))
    return redirect(url_for("admin.review", record_id=queue.items[0].id))


@bp.get("/photos/<int:photo_id>")
@staff_required(*REVIEWERS)
def photo(photo_id: int):
    handle, content_type = moderation.open_photo(photo_id)
    response = send_file(handle, mimetype=content_type, max_age=0)
    # Evidence with personal data: never kept by a browser or proxy cache, never sniffed as something else.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
