"""A throw-away certificate authority for the integration tests (EC P-256: fast to generate, Go and OpenSSL accept it)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _write(path, data, mode=0o644):
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


class Issued:
    """A leaf certificate: ``cert_path``/``key_path`` (PEM), ``cert``/``key`` objects, ``chain_der`` (leaf first)."""

    def __init__(self, cert, key, cert_path, key_path, chain_der):
        self.cert = cert
        self.key = key
        self.cert_path = cert_path
        self.key_path = key_path
        self.chain_der = chain_der


class CA:
    """Self-signed root in ``directory``.

    ``cert_path``: the root certificate (PEM). ``cert_dir``: a directory holding only ``ca.crt``, the layout
    podman/skopeo ``--cert-dir`` and containers-certs.d(5) expect (a stray ``*.key`` there would be taken for a
    client key). Leaves go to ``directory/issued/<name>/``.
    """

    def __init__(self, directory, name='podkit test CA'):
        self.directory = str(directory)
        self.cert_dir = os.path.join(self.directory, 'trust')
        os.makedirs(self.cert_dir, exist_ok=True)
        os.makedirs(os.path.join(self.directory, 'private'), exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        ski = x509.SubjectKeyIdentifier.from_public_key(self.key.public_key())
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(minutes=5))
            .not_valid_after(_now() + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_pem = self.cert.public_bytes(serialization.Encoding.PEM)
        self.cert_path = _write(os.path.join(self.cert_dir, 'ca.crt'), self.cert_pem)
        _write(os.path.join(self.directory, 'private', 'ca.key'), _key_pem(self.key), 0o600)

    def issue(self, name, dns_names=('localhost',), ip_addresses=('127.0.0.1',), server=True, valid_from=None, valid_until=None):
        """Issue a leaf. ``server=False`` gives a certificate without SAN/EKU (used to sign registry tokens).
        ``valid_from``/``valid_until`` (datetimes) make expired or not-yet-valid certificates."""
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid_from or _now() - datetime.timedelta(minutes=5))
            .not_valid_after(valid_until or _now() + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
        )
        if server:
            sans = [x509.DNSName(d) for d in dns_names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ip_addresses]
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
            builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        out = os.path.join(self.directory, 'issued', name)
        os.makedirs(out, exist_ok=True)
        cert_path = _write(os.path.join(out, 'cert.pem'), cert.public_bytes(serialization.Encoding.PEM))
        key_path = _write(os.path.join(out, 'key.pem'), _key_pem(key), 0o600)
        chain = [cert.public_bytes(serialization.Encoding.DER), self.cert.public_bytes(serialization.Encoding.DER)]
        return Issued(cert, key, cert_path, key_path, chain)
