"""Single sign-on is configured by PMOFLOW_OIDC_* variables, or not at all."""

from __future__ import annotations

import pytest

from pmoflow.app import web_settings
from pmoflow.config import Config

ISSUER = "https://login.corp.example/realms/pmo"


def config(tmp_path, **env: str) -> Config:
    return Config.from_env({"PMOFLOW_HOME": str(tmp_path), **env})


def test_without_an_issuer_there_is_no_single_sign_on(tmp_path):
    assert config(tmp_path).oidc is None
    assert web_settings(config(tmp_path)).oidc is None


def test_the_variables_and_their_defaults(tmp_path):
    oidc = config(tmp_path, PMOFLOW_OIDC_ISSUER=ISSUER, PMOFLOW_OIDC_CLIENT_ID="pmoflow",
                  PMOFLOW_OIDC_CLIENT_SECRET="s").oidc
    assert (oidc.issuer, oidc.client_id, oidc.client_secret, oidc.scopes, oidc.groups_claim,
            oidc.provider_name) == (ISSUER, "pmoflow", "s", "openid profile email", "groups",
                                    "")
    assert oidc.metadata_url == f"{ISSUER}/.well-known/openid-configuration"
    custom = config(tmp_path, PMOFLOW_OIDC_ISSUER=ISSUER + "/", PMOFLOW_OIDC_CLIENT_ID="c",
                    PMOFLOW_OIDC_CLIENT_SECRET="s", PMOFLOW_OIDC_SCOPES="profile  groups",
                    PMOFLOW_OIDC_GROUPS_CLAIM="roles", PMOFLOW_OIDC_PROVIDER_NAME="Corp ID").oidc
    assert (custom.scopes, custom.groups_claim, custom.provider_name) == (
        "openid profile groups", "roles", "Corp ID")
    assert custom.metadata_url == f"{ISSUER}/.well-known/openid-configuration"
    assert web_settings(config(tmp_path, PMOFLOW_OIDC_ISSUER=ISSUER, PMOFLOW_OIDC_CLIENT_ID="c",
                               PMOFLOW_OIDC_CLIENT_SECRET="s")).oidc.client_id == "c"


@pytest.mark.parametrize(("env", "words"), [
    ({"PMOFLOW_OIDC_ISSUER": "login.corp.example"}, "is not a URL"),
    ({"PMOFLOW_OIDC_ISSUER": ISSUER}, "PMOFLOW_OIDC_CLIENT_ID and PMOFLOW_OIDC_CLIENT_SECRET"),
    ({"PMOFLOW_OIDC_ISSUER": ISSUER, "PMOFLOW_OIDC_CLIENT_ID": "c"}, "CLIENT_SECRET"),
])
def test_incomplete_configuration_is_a_clear_error(tmp_path, env, words):
    with pytest.raises(SystemExit, match=words):
        config(tmp_path, **env)
