"""The signed-in user's API tokens page: list, create (the secret shown once), revoke."""

from __future__ import annotations

from tests.webui.conftest import login, one, parse_html, post


def test_create_shows_the_secret_once_then_lists_and_revokes(client):
    login(client, "pm1")
    page = client.get("/account/tokens")
    assert page.status_code == 200 and 'data-testid="tokens-empty"' in page.get_data(True)
    made = post(client, "/account/tokens", {"name": "Jira sync", "expires": "30"},
                token_from="/account/tokens")
    doc = parse_html(made.get_data())
    secret = one(doc, "//input[@data-testid='token-secret']").get("value")
    assert made.status_code == 200 and secret.startswith("pmo_")
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.get_json()["username"] == "pm1"
    again = client.get("/account/tokens").get_data(as_text=True)
    assert secret not in again and secret[:12] in again and "Jira sync" in again
    row = one(parse_html(again), "//tr[@data-testid='token']")
    revoked = post(client, f"/account/tokens/{row.get('data-token-id')}/revoke",
                   token_from="/account/tokens")
    assert revoked.status_code == 302
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
                      ).status_code == 401
    assert "Revoked" in client.get("/account/tokens").get_data(as_text=True)


def test_tokens_page_needs_sign_in_and_others_tokens_cannot_be_revoked(client, app):
    assert client.get("/account/tokens").status_code == 302
    login(client, "pm2")
    post(client, "/account/tokens", {"name": "mine", "expires": "never"},
         token_from="/account/tokens")
    other = app.test_client()
    login(other, "pm1")
    refused = post(other, "/account/tokens/1/revoke", token_from="/account/tokens")
    assert refused.status_code == 403
    bad = post(other, "/account/tokens", {"expires": "forever"}, token_from="/account/tokens")
    assert bad.status_code == 400


def test_navbar_name_leads_to_the_account_page_and_it_speaks_chinese(client):
    login(client, "pm1")
    html = client.get("/tasks").get_data(as_text=True)
    assert one(parse_html(html), "//a[@data-testid='whoami']").get("href") == "/account/tokens"
    post(client, "/language", {"lang": "zh"}, token_from="/")
    assert "API 令牌" in client.get("/account/tokens").get_data(as_text=True)
