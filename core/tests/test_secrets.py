"""Secrets are declared by the provider that uses them (``kit.add_secret``), not named in core:
once added, a value never shows in a log record or an error message."""

from imageworks_core import BadInputError
from imageworks_core.kit import add_secret, redact


def test_an_added_secret_is_hidden_everywhere_redact_looks(sandbox, cli):
    token = "tok_9c1e7d2b4a605f3a"
    assert redact(f"url?x={token}") == f"url?x={token}"  # not known yet: nothing to hide
    add_secret(token)
    add_secret("ab")  # too short to be a secret: ignored rather than starring every "ab"
    assert redact(f"url?x={token}") == "url?x=***"
    assert redact({"note": [f"a {token} b"], "authorization": "Bearer xyz"}) == {"note": ["a *** b"],
                                                                               "authorization": "***"}
    assert redact("about abba") == "about abba"


def test_the_error_boundary_redacts_added_secrets(sandbox, cli):
    from imageworks_core import hookimpl
    from imageworks_core.plugins import add_plugin, remove_plugin

    token = "tok_5f3a9c1e7d2b4a60"

    class Leaky:
        @hookimpl
        def imageworks_register_commands(self, group, program):
            @group.command("leak")
            def leak():
                add_secret(token)
                raise BadInputError(f"the server refused {token}")

    add_plugin("leaky", Leaky())
    try:
        result = cli("leak")
    finally:
        remove_plugin("leaky")
    assert result.exit_code == 2
    assert token not in result.stderr and "refused ***" in result.stderr
    assert all(token not in str(record) for record in sandbox.log_records())
