"""Rewards (奖励) and redemptions (兑换记录) for admins: the list, create and edit, and cancelling."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app.admin import bp
from app.admin.access import safe_next, staff_required
from app.admin.forms_rewards import RewardForm
from app.errors import DomainError, NotFound
from app.models import RedemptionStatus, StaffRole
from app.services import clock, rewards

PAGE = 50
REDEMPTION_STATUSES = {RedemptionStatus.ISSUED: "已发放", RedemptionStatus.CANCELLED: "已取消"}
REDEMPTION_STYLES = {RedemptionStatus.ISSUED: "success", RedemptionStatus.CANCELLED: "secondary"}


def reward_state(reward, now) -> tuple[str, str]:
    """(label, Bootstrap colour) of where a reward stands for users right now."""
    if not reward.active:
        return "已下架", "secondary"
    if now < reward.valid_from:
        return "未开始", "info"
    if now >= reward.valid_until:
        return "已过期", "dark"
    if reward.stock_left == 0:
        return "已兑完", "warning"
    return "兑换中", "success"


def image_url(reward) -> str | None:
    """The public picture URL the mini program uses too (same origin, so the admin's CSP allows it)."""
    version = rewards.image_version(reward)
    return url_for("api.reward_image", reward_id=reward.id, v=version) if version else None


def _page() -> int:
    return max(request.args.get("page", 1, type=int), 1)


@bp.get("/rewards", endpoint="rewards")  # the navigation looks for admin.rewards and admin.redemptions
@staff_required(StaffRole.ADMIN)
def reward_list():
    return render_template("admin/rewards/list.html", rewards=rewards.reward_page(_page(), PAGE), now=clock.now(),
                           reward_state=reward_state, image_url=image_url)


@bp.route("/rewards/new", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def reward_new():
    form = RewardForm()
    if not form.is_submitted():
        form.fill_defaults()
    elif form.validate_on_submit():
        try:
            reward = rewards.create_reward(form.draft(), form.image_bytes(), staff_id=current_user.staff_id)
        except DomainError as exc:
            return _form_page(form, None, exc)
        flash(f"已新建奖励「{reward.title}」", "success")
        return redirect(url_for("admin.rewards"))
    return _form_page(form, None)


@bp.route("/rewards/<int:reward_id>", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def reward_edit(reward_id: int):
    reward = rewards.get_reward(reward_id)
    form = RewardForm()
    if not form.is_submitted():
        form.fill_from(reward)
    elif form.validate_on_submit():
        try:
            reward = rewards.update_reward(reward_id, form.draft(), form.image_bytes(),
                                           remove_image=form.remove_image.data, staff_id=current_user.staff_id)
        except NotFound:
            abort(404)
        except DomainError as exc:
            return _form_page(form, rewards.get_reward(reward_id), exc)
        flash(f"已保存奖励「{reward.title}」", "success")
        return redirect(url_for("admin.rewards"))
    return _form_page(form, reward)


def _form_page(form: RewardForm, reward, exc: DomainError | None = None):
    """The form again, with each refusal beside its field: the form's own checks, or the service's
    (stock below what is redeemed, a picture that is no picture)."""
    if exc is not None:
        field = {"unsupported_image": "image", "file_too_large": "image"}.get(exc.code, exc.details.get("field"))
        if field in form:
            form[field].errors = [*form[field].errors, exc.message]
        else:
            flash(exc.message, "danger")
    status = exc.status if exc is not None else 422 if form.errors else 200
    return render_template("admin/rewards/form.html", form=form, reward=reward, image_url=image_url), status


@bp.get("/redemptions")
@staff_required(StaffRole.ADMIN)
def redemptions():
    reward_id = request.args.get("reward", type=int)
    status = request.args.get("status") or None
    code = (request.args.get("code") or "").strip() or None
    if status not in (None, *REDEMPTION_STATUSES):
        status = None
    page = rewards.redemption_page(_page(), PAGE, reward_id=reward_id, status=status, coupon_code=code)
    filters = {k: v for k, v in {"reward": reward_id, "status": status, "code": code}.items() if v}
    return render_template("admin/rewards/redemptions.html", redemptions=page, filters=filters,
                           reward_choices=rewards.all_rewards(), statuses=REDEMPTION_STATUSES,
                           styles=REDEMPTION_STYLES,
                           nicknames=rewards.nicknames({r.user_id for r in page.items}))


@bp.post("/redemptions/<int:redemption_id>/cancel")
@staff_required(StaffRole.ADMIN)
def redemption_cancel(redemption_id: int):
    # The CSRF token is checked by CSRFProtect before this runs; a stale one gets the admin's 400 page.
    back = _local_back() or url_for("admin.redemptions")
    try:
        redemption = rewards.cancel_redemption(redemption_id, current_user.staff_id)
    except NotFound:
        abort(404)
    except rewards.AlreadyCancelled as exc:
        flash(exc.message, "warning")
    except DomainError as exc:
        flash(exc.message, "danger")
    else:
        flash(f"已取消兑换 #{redemption.id}（券码 {redemption.coupon_code}），退还 {redemption.points} 积分，"
              "库存 +1", "success")
    return redirect(back)


def _local_back() -> str | None:
    """Back to the list page the button was on (its filters and page), never anywhere else."""
    target = safe_next(request.form.get("back"))
    return target if target and target.split("?")[0] == url_for("admin.redemptions") else None
