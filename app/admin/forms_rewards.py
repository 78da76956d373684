"""The reward form (Flask-WTF: it carries its CSRF token), with Chinese messages."""

from __future__ import annotations

from datetime import timedelta

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateTimeLocalField, IntegerField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, ValidationError

from app.errors import ValidationFailed
from app.services import clock, rewards

_LOCAL_TIME = {"format": ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"], "tz": clock.app_zone,
               "invalid_value_message": "请按 年-月-日 时:分 填写时间"}


class RewardForm(FlaskForm):
    """Parsing and the messages a person reads; the rules themselves are the rewards service's."""

    title = StringField("名称", validators=[
        InputRequired("请输入名称"), Length(max=rewards.MAX_TITLE, message=f"名称至多 {rewards.MAX_TITLE} 个字符")])
    description = TextAreaField("说明", validators=[
        Length(max=rewards.MAX_DESCRIPTION, message=f"说明至多 {rewards.MAX_DESCRIPTION} 个字符")])
    image = FileField("图片")
    remove_image = BooleanField("删除现有图片")
    cost_points = StringField("所需积分", validators=[InputRequired("请输入所需积分")])
    stock_total = IntegerField("库存总量", invalid_value_message="库存总量须为整数", validators=[
        InputRequired("请输入库存总量"),
        NumberRange(min=0, max=rewards.MAX_STOCK, message=f"库存总量须为 0–{rewards.MAX_STOCK} 的整数")])
    # datetime-local inputs show and submit the users' calendar time (APP_TIMEZONE), read back as aware.
    valid_from = DateTimeLocalField("开始时间", validators=[InputRequired("请选择开始时间")], **_LOCAL_TIME)
    valid_until = DateTimeLocalField("截止时间", validators=[InputRequired("请选择截止时间")], **_LOCAL_TIME)
    active = BooleanField("上架（用户可见）", default=True)

    def validate_cost_points(self, field) -> None:
        try:
            rewards.parse_cost(field.data)
        except ValidationFailed as exc:
            raise ValidationError(exc.message) from None

    def validate_valid_until(self, field) -> None:
        if self.valid_from.data and field.data and field.data <= self.valid_from.data:
            raise ValidationError("截止时间须晚于开始时间")

    def fill_defaults(self) -> None:
        """A new reward: on offer from now for 30 days."""
        start = clock.now().replace(second=0, microsecond=0)
        self.valid_from.data, self.valid_until.data = start, start + timedelta(days=30)

    def fill_from(self, reward) -> None:
        self.title.data, self.description.data = reward.title, reward.description
        self.cost_points.data, self.stock_total.data = str(reward.cost_points), reward.stock_total
        self.valid_from.data, self.valid_until.data = reward.valid_from, reward.valid_until
        self.active.data = reward.active

    def draft(self) -> rewards.RewardDraft:
        return rewards.RewardDraft(
            title=self.title.data, description=self.description.data or "",
            cost_points=rewards.parse_cost(self.cost_points.data), stock_total=self.stock_total.data,
            valid_from=self.valid_from.data, valid_until=self.valid_until.data, active=self.active.data)

    def image_bytes(self) -> bytes | None:
        upload = self.image.data
        if upload is None or not getattr(upload, "filename", None):
            return None
        return upload.read() or None

