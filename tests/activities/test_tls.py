"""https calls connect to the address that was checked, and TLS still checks the name."""

from __future__ import annotations

import datetime
import ssl

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from activities import outbound
from tests.receivers import HttpReceiver


def _self_signed(tmp_path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


@pytest.fixture
async def tls(tmp_path, monkeypatch):
    server_ctx, client_ctx = _self_signed(tmp_path, "relay.test")
    client = httpx.AsyncClient(verify=client_ctx, trust_env=False)
    monkeypatch.setattr(outbound, "shared_client", lambda: client)
    lookups: list[str] = []
    real_resolve = outbound.resolve_checked

    async def fake_dns(host, port, allow):  # "relay.test" exists only here, and only once
        lookups.append(host)
        return await real_resolve("127.0.0.1" if host == "relay.test" else host, port, allow)

    monkeypatch.setattr(outbound, "resolve_checked", fake_dns)
    async with HttpReceiver(ssl_context=server_ctx) as receiver:
        yield receiver, lookups
    await client.aclose()


async def test_https_goes_to_the_checked_address_with_the_original_name(tls):
    receiver, lookups = tls
    response = await outbound.send("GET", f"https://relay.test:{receiver.port}/x", timeout=5,
                                   allow=["127.0.0.1/32"], max_bytes=1000, depth=0)
    assert response.status_code == 200
    assert lookups == ["relay.test"]
    assert receiver.requests[0].headers["host"] == f"relay.test:{receiver.port}"


async def test_https_certificate_must_match_the_name(tls):
    receiver, _ = tls
    with pytest.raises(httpx.ConnectError):
        await outbound.send("GET", f"https://127.0.0.1:{receiver.port}/x", timeout=5,
                            allow=["127.0.0.1/32"], max_bytes=1000, depth=0)


async def test_https_to_a_refused_address_never_connects(tls):
    receiver, _ = tls
    with pytest.raises(outbound.OutboundRefused):
        await outbound.send("GET", f"https://relay.test:{receiver.port}/x", timeout=5,
                            allow=[], max_bytes=1000, depth=0)
    assert receiver.requests == []
