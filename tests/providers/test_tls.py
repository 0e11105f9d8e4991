"""The shared TLS context: roots looked up on demand in a hashed directory, with verification as strict
as the CA bundle's, against a real TLS server on loopback with certificates made here."""

import datetime
import socket
import ssl
import subprocess
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from skyrelay.runtime import tls


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, issuer, key, signer, ca: bool, dns: str | None = None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(dns)]), critical=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
    return builder.sign(signer, hashes.SHA256())


def _pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _hashed_dir(path, ca_pem: bytes):
    """A directory as update-ca-certificates leaves it: the root under `<subject hash>.0`."""
    path.mkdir()
    (path / "ca.pem").write_bytes(ca_pem)
    digest = subprocess.run(["openssl", "x509", "-noout", "-subject_hash", "-in", str(path / "ca.pem")],
                            capture_output=True, text=True, check=True).stdout.strip()
    (path / f"{digest}.0").symlink_to(path / "ca.pem")
    return path


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    root = tmp_path_factory.mktemp("pki")
    ca_key, other_key, server_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _cert("skyrelay test root", "skyrelay test root", ca_key, ca_key, ca=True)
    other = _cert("another root", "another root", other_key, other_key, ca=True)
    server = _cert("localhost", "skyrelay test root", server_key, ca_key, ca=False, dns="localhost")
    (root / "server.pem").write_bytes(_pem(server) + _pem(server_key))
    return {"trusted": _hashed_dir(root / "trusted", _pem(ca)), "untrusted": _hashed_dir(root / "untrusted", _pem(other)),
            "server": root / "server.pem", "bundle": root / "trusted" / "ca.pem"}


@pytest.fixture(scope="module")
def server(pki):
    """A TLS server on loopback: accepts, handshakes, closes; its port."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["server"])
    sock = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            try:
                with ctx.wrap_socket(conn, server_side=True) as tls_conn:
                    tls_conn.recv(1)
            except (OSError, ssl.SSLError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    yield sock.getsockname()[1]
    stop.set()
    sock.close()


def _handshake(ctx: ssl.SSLContext, port: int, hostname: str = "localhost") -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=hostname) as conn:
        conn.sendall(b"x")


def test_a_hashed_directory_verifies_on_demand(pki, server):
    ctx = tls.new_context({"SSL_CERT_DIR": str(pki["trusted"])})
    assert ctx.cert_store_stats()["x509_ca"] == 0  # nothing parsed up front: that was the ~28 ms
    _handshake(ctx, server)
    assert ctx.cert_store_stats()["x509_ca"] == 1  # the one root the chain needed
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname


def test_verification_stays_strict(pki, server):
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls.new_context({"SSL_CERT_DIR": str(pki["untrusted"])}), server)
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(tls.new_context({"SSL_CERT_DIR": str(pki["trusted"])}), server, hostname="elsewhere.test")


def test_an_operator_bundle_wins_over_any_directory(pki, server, monkeypatch):
    env = {"SSL_CERT_FILE": str(pki["bundle"]), "SSL_CERT_DIR": str(pki["untrusted"])}
    assert tls.hashed_ca_dir(env) is None
    monkeypatch.setenv("SSL_CERT_FILE", str(pki["bundle"]))  # read by OpenSSL's default paths
    monkeypatch.setenv("SSL_CERT_DIR", str(pki["untrusted"]))
    _handshake(tls.new_context(env), server)


def test_which_directory_is_used(pki, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "ca.pem").write_bytes(pki["bundle"].read_bytes())
    assert tls.hashed_ca_dir({"SSL_CERT_DIR": f"{plain}:{pki['trusted']}"}) == str(pki["trusted"])
    assert tls.hashed_ca_dir({"SSL_CERT_DIR": str(plain)}) is None  # set, but not hashed: OpenSSL's defaults
    assert tls.hashed_ca_dir({"SSL_CERT_DIR": str(tmp_path / "missing")}) is None
