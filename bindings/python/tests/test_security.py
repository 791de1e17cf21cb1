"""A Python-served model behind API keys and roles, called from Python with and without a key: the
server's "security" section and the client's "credentials" go through the C library unchanged."""
import hashlib
import os
import secrets

import numpy as np
import pytest

import demos_maas as dm


def make_key(key_id, roles):
    """A key as `maas key new` makes it: the secret for the caller, the salted SHA-256 for the server."""
    secret = f"maas_{key_id}." + secrets.token_urlsafe(32)
    salt = os.urandom(16)
    entry = {"id": key_id, "salt": salt.hex(), "sha256": hashlib.sha256(salt + secret.encode()).hexdigest(), "roles": roles}
    return secret, entry


@pytest.fixture(scope="module")
def secured():
    admin, admin_entry = make_key("py-admin", ["admin"])
    reader, reader_entry = make_key("py-reader", ["reader"])
    server = dm.Server(log_level="error", security={"keys": [admin_entry, reader_entry], "audit": {"enabled": False}})
    server.register_density("gauss", lambda x, th: -0.5 * ((x - th[0]) ** 2).sum(axis=1), dim=1,
                            parameters=[{"name": "mu", "default": 0.0}])
    uri = server.listen("tcp://127.0.0.1:0")
    yield uri, admin, reader
    server.close()


def test_no_or_wrong_credentials_are_refused(secured):
    uri, admin, _ = secured
    with pytest.raises(dm.errors.Unauthenticated) as none:
        dm.Client(uri, retry=False, reconnect=False)
    assert isinstance(none.value, PermissionError)
    with pytest.raises(dm.errors.Unauthenticated):
        dm.Client(uri, credentials=admin[:-3] + "xyz", retry=False, reconnect=False)


def test_a_reader_computes_but_may_not_update_parameters(secured):
    uri, admin, reader = secured
    with dm.Client(uri, credentials=reader) as client:
        model = client.model("gauss")
        assert np.allclose(model.log_density(np.array([[1.0]])), [-0.5])
        with pytest.raises(dm.errors.PermissionDenied):
            model.update_parameters({"mu": 1.0})
    with dm.Client(uri, credentials=admin) as client:
        assert client.model("gauss").update_parameters({"mu": 0.0})
