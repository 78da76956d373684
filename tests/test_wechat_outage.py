"""A WeChat that stops answering costs a login only the configured timeout, never a worker."""

from app import create_app

HANG_S = 30  # far longer than the timeout: only the client's own timeout can end the wait early


def test_login_answers_502_when_its_read_timeout_fires_not_when_wechat_hangs_up(app, fake_wechat):
    impatient = create_app("testing", {
        **{key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "UPLOAD_DIR", "WECHAT_API_BASE",
                                            "WECHAT_APPID", "WECHAT_SECRET")},
        "WECHAT_TIMEOUT": (0.5, 0.5)})
    fake_wechat.hang_next(seconds=HANG_S)
    client = impatient.test_client()
    response = client.post("/api/v1/auth/login", json={
        "code": fake_wechat.issue_code("openid-waiting"), "privacy_version": app.config["PRIVACY_POLICY_VERSION"]})
    assert response.status_code == 502
    # "timeout", not "connection_error": the client gave up, WeChat had not hung up yet.
    error = response.get_json()["error"]
    assert (error["code"], error["details"]) == ("wechat_unavailable", {"cause": "timeout"})

    # The same app serves the next login at once, WeChat answering again.
    again = client.post("/api/v1/auth/login", json={
        "code": fake_wechat.issue_code("openid-waiting"), "privacy_version": app.config["PRIVACY_POLICY_VERSION"]})
    assert again.status_code == 200


def test_a_wechat_answering_a_byte_at_a_time_costs_a_login_only_the_timeout(app, fake_wechat):
    """Each byte comes sooner than the read timeout; only the call's overall deadline ends the wait."""
    impatient = create_app("testing", {
        **{key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "UPLOAD_DIR", "WECHAT_API_BASE",
                                            "WECHAT_APPID", "WECHAT_SECRET")},
        "WECHAT_TIMEOUT": (0.5, 0.5)})
    fake_wechat.drip_next(seconds_per_byte=0.1)  # a whole, valid answer after ~25 s: a login, if waited for
    response = impatient.test_client().post("/api/v1/auth/login", json={
        "code": fake_wechat.issue_code("openid-dripping"), "privacy_version": app.config["PRIVACY_POLICY_VERSION"]})
    assert response.status_code == 502
    assert response.get_json()["error"]["details"] == {"cause": "timeout"}
