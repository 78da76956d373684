"""The admin's forms (Flask-WTF: each carries its CSRF token), with Chinese messages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import AnyOf, EqualTo, InputRequired, Length, Optional, ValidationError

from app.services.staff import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[InputRequired("请输入用户名"), Length(max=64, message="用户名太长")])
    password = PasswordField("密码", validators=[
        InputRequired("请输入密码"), Length(max=MAX_PASSWORD_LENGTH, message="密码太长")])
    next = HiddenField()


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("当前密码", validators=[InputRequired("请输入当前密码")])
    new_password = PasswordField("新密码", validators=[
        InputRequired("请输入新密码"),
        Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
               message=f"新密码须为 {MIN_PASSWORD_LENGTH}–{MAX_PASSWORD_LENGTH} 个字符")])
    confirm = PasswordField("再次输入新密码", validators=[
        InputRequired("请再次输入新密码"), EqualTo("new_password", message="两次输入的新密码不一致")])


class DecisionForm(FlaskForm):
    """Posted by the 通过 / 驳回 buttons (name="decision"). Whether a reason is needed and which
    weights are plausible are the moderation service's rules; this form only reads the input."""

    decision = StringField("审核结果", validators=[
        InputRequired("请选择通过或驳回"), AnyOf(["approve", "reject"], message="请选择通过或驳回")])
    reason = StringField("驳回原因", validators=[Optional(), Length(max=255, message="原因至多 255 个字符")])
    weight_kg = StringField("重量（千克）", validators=[Optional()])

    def validate_weight_kg(self, field) -> None:
        try:
            value = Decimal(field.data.strip())
        except InvalidOperation:
            raise ValidationError("重量须为数字，单位千克") from None
        if not value.is_finite():
            raise ValidationError("重量须为数字，单位千克")

    @property
    def weight(self) -> Decimal | None:
        return Decimal(self.weight_kg.data.strip()) if self.weight_kg.data and self.weight_kg.data.strip() else None
