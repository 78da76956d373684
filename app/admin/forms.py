"""The admin's forms (Flask-WTF: each carries its CSRF token), with Chinese messages."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import flash
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import AnyOf, EqualTo, InputRequired, Length, Optional, ValidationError

from app.errors import DomainError
from app.services import clock
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


# WTForms' own messages, in the admin's language.
_MESSAGES = {
    "Not a valid datetime value.": "请输入有效的日期和时间",
    "Not a valid integer value.": "请输入整数",
    "Not a valid decimal value.": "请输入数字",
    "Not a valid float value.": "请输入数字",
    "Not a valid choice.": "请选择有效的选项",
    "This field is required.": "此项必填",
}


class _ChineseMessages:
    def gettext(self, string: str) -> str:
        return _MESSAGES.get(string, string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.gettext(singular if n == 1 else plural)


class AdminForm(FlaskForm):
    class Meta:
        def get_translations(self, form):
            return _ChineseMessages()


def local_input(moment: datetime | None) -> datetime | None:
    """A stored UTC instant as the naive local time a datetime-local input shows."""
    return moment.astimezone(clock.app_zone()).replace(tzinfo=None) if moment else None


def aware(local: datetime | None) -> datetime | None:
    """What an admin typed in a datetime-local input, as an instant in the users' time zone."""
    return local.replace(tzinfo=clock.app_zone()) if local else None


def show_service_error(form: FlaskForm, exc: DomainError) -> None:
    """Put a service's refusal under the field it names (or flash it when it names none)."""
    name = exc.details.get("field")
    field = getattr(form, name, None) if isinstance(name, str) else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    else:
        flash(exc.message, "danger")
