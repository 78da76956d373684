"""Admin pages for articles (文章: Markdown, cover, draft/published) and reduction tips (减排建议), admins only."""

from __future__ import annotations


from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import BooleanField, DateTimeLocalField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, InputRequired, Length, Optional

from app.admin import bp
from app.admin.access import staff_required
from app.admin.forms import AdminForm, aware, local_input, show_service_error
from app.errors import DomainError, NotFound, ValidationFailed
from app.models import Article, StaffRole
from app.services import clock, content, images, suggestions

PAGE = 50
CATEGORY_NAMES = {"policy": "政策解读", "tips": "低碳小贴士", "market": "碳市场"}
STATUS_NAMES = {"draft": "草稿", "published": "已发布"}
KIND_CHOICES = [("", "（不限）"), ("travel", "绿色出行"), ("sorting", "垃圾分类"), ("recycling", "旧物回收"),
                ("meal", "环保饮食"), ("bedtime", "规范就寝")]

def _choices(names: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in names.items()]


# -- articles --

class ArticleForm(AdminForm):
    title = StringField("标题", validators=[InputRequired("请输入标题"),
                                          Length(max=200, message="标题至多 200 个字符")])
    category = SelectField("分类", choices=_choices(CATEGORY_NAMES), validate_choice=False,
                           validators=[AnyOf(list(CATEGORY_NAMES), message="请选择分类")])
    summary = TextAreaField("摘要", validators=[Optional(), Length(max=500, message="摘要至多 500 个字符")])
    markdown = TextAreaField("正文（Markdown）", validators=[InputRequired("请输入正文")])
    cover = FileField("封面图片（JPEG、PNG、WebP 或 HEIC）")
    remove_cover = BooleanField("删除现有封面")
    status = SelectField("状态", choices=_choices(STATUS_NAMES), validate_choice=False,
                         validators=[AnyOf(list(STATUS_NAMES), message="请选择状态")])
    publish_at = DateTimeLocalField("发布时间（北京时间；发布且留空则立即发布）", format="%Y-%m-%dT%H:%M",
                                    validators=[Optional()])

    def article_input(self) -> content.ArticleInput:
        return content.ArticleInput(title=self.title.data, category=self.category.data,
                                    summary=self.summary.data or "", markdown=self.markdown.data,
                                    status=self.status.data, publish_at=aware(self.publish_at.data))

    def cover_bytes(self) -> bytes | None:
        upload = self.cover.data
        return upload.read() if upload and getattr(upload, "filename", "") else None


class DeleteForm(AdminForm):
    confirm = BooleanField("确认删除", validators=[InputRequired("请勾选“确认删除”")])


@bp.get("/articles")
@staff_required(StaffRole.ADMIN)
def articles():
    page = max(request.args.get("page", 1, type=int), 1)
    return render_template("admin/content/articles.html", articles=content.admin_articles(page, PAGE),
                           categories=CATEGORY_NAMES, statuses=STATUS_NAMES, now=clock.now())


def _article_page(form: ArticleForm, article: Article | None, status: int = 200):
    return render_template("admin/content/article_form.html", form=form, article=article,
                           delete_form=DeleteForm(), categories=CATEGORY_NAMES), status


def _save_article(form: ArticleForm, article: Article | None):
    if not form.validate_on_submit():
        return _article_page(form, article, 422)
    try:
        saved = content.save_article(article.id if article else None, form.article_input(),
                                     staff_id=current_user.staff_id, cover=form.cover_bytes(),
                                     remove_cover=form.remove_cover.data)
    except NotFound:
        abort(404)
    except (images.UnsupportedImage, images.FileTooLarge) as exc:
        form.cover.errors = [*form.cover.errors, exc.message]
        return _article_page(form, article, exc.status)
    except DomainError as exc:  # invalid fields, storage full
        show_service_error(form, exc)
        return _article_page(form, article, exc.status)
    flash(f"文章《{saved.title}》已保存（{STATUS_NAMES[saved.status]}）", "success")
    return redirect(url_for("admin.article_edit", article_id=saved.id))


@bp.route("/articles/new", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def article_new():
    form = ArticleForm()
    if request.method == "GET":
        form.status.data = "draft"
        return _article_page(form, None)
    return _save_article(form, None)


@bp.route("/articles/<int:article_id>", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def article_edit(article_id: int):
    article = content.get_article(article_id)
    if request.method == "GET":
        form = ArticleForm(obj=article)
        form.publish_at.data = local_input(article.publish_at)
        return _article_page(form, article)
    return _save_article(ArticleForm(), article)


@bp.post("/articles/<int:article_id>/delete")
@staff_required(StaffRole.ADMIN)
def article_delete(article_id: int):
    form = DeleteForm()
    if not form.validate_on_submit():
        flash("请勾选“确认删除”后再删除", "warning")
        return redirect(url_for("admin.article_edit", article_id=article_id))
    content.delete_article(article_id, staff_id=current_user.staff_id)
    flash(f"文章 #{article_id} 已删除", "success")
    return redirect(url_for("admin.articles"))


@bp.get("/articles/<int:article_id>/cover")
@staff_required(StaffRole.ADMIN)
def article_cover(article_id: int):
    """The cover of any article, drafts included (the API serves published ones only)."""
    handle = content.open_cover(content.get_article(article_id))
    response = send_file(handle, mimetype="image/jpeg", max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- tips --

class TipForm(AdminForm):
    title = StringField("标题", validators=[InputRequired("请输入标题"),
                                          Length(max=100, message="标题至多 100 个字符")])
    text = TextAreaField("内容", validators=[InputRequired("请输入内容"),
                                           Length(max=500, message="内容至多 500 个字符")])
    kind = SelectField("相关行为", choices=_choices(dict(KIND_CHOICES)), validate_choice=False,
                       validators=[AnyOf([k for k, _ in KIND_CHOICES], message="请选择有效的行为")])
    potential_co2_g = DecimalField("每周可减排（克 CO₂，可留空）", validators=[Optional()])
    active = BooleanField("向用户展示", default=True)

    def tip_input(self) -> suggestions.TipInput:
        return suggestions.TipInput(title=self.title.data, text=self.text.data, kind=self.kind.data or None,
                                    potential_co2_g=self.potential_co2_g.data, active=self.active.data)


@bp.get("/tips")
@staff_required(StaffRole.ADMIN)
def tips():
    return render_template("admin/content/tips.html", tips=suggestions.all_tips(), kinds=dict(KIND_CHOICES))


def _tip_page(form: TipForm, tip, status: int = 200):
    return render_template("admin/content/tip_form.html", form=form, tip=tip, delete_form=DeleteForm()), status


def _save_tip(form: TipForm, tip):
    if not form.validate_on_submit():
        return _tip_page(form, tip, 422)
    try:
        saved = suggestions.save_tip(tip.id if tip else None, form.tip_input(), staff_id=current_user.staff_id)
    except ValidationFailed as exc:
        show_service_error(form, exc)
        return _tip_page(form, tip, exc.status)
    flash(f"建议“{saved.title}”已保存", "success")
    return redirect(url_for("admin.tips"))


@bp.route("/tips/new", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def tip_new():
    form = TipForm()
    return _tip_page(form, None) if request.method == "GET" else _save_tip(form, None)


@bp.route("/tips/<int:tip_id>", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def tip_edit(tip_id: int):
    tip = suggestions.get_tip(tip_id)
    if request.method == "GET":
        form = TipForm(obj=tip)
        form.kind.data = tip.kind or ""
        return _tip_page(form, tip)
    return _save_tip(TipForm(), tip)


@bp.post("/tips/<int:tip_id>/delete")
@staff_required(StaffRole.ADMIN)
def tip_delete(tip_id: int):
    if not DeleteForm().validate_on_submit():
        flash("请勾选“确认删除”后再删除", "warning")
        return redirect(url_for("admin.tip_edit", tip_id=tip_id))
    suggestions.delete_tip(tip_id, staff_id=current_user.staff_id)
    flash(f"建议 #{tip_id} 已删除", "success")
    return redirect(url_for("admin.tips"))
