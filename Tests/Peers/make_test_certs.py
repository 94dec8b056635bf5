#!/usr/bin/env python3
"""Test certificates for lampd's uplink TLS tests (fault_proxy.py --tls-cert/--tls-key).

    make_test_certs.py OUTDIR

Writes into OUTDIR (created if missing), all EC P-256 keys (PKCS#8 PEM, unencrypted), all
certificates valid from 1 day before to 30 days after now:

    ca.pem, ca.key          test CA (self-signed, CA:TRUE, pathlen 0)
    server.pem, server.key  server certificate signed by the CA; SAN 127.0.0.1, ::1, localhost;
                            serverAuth
    client.pem, client.key  client certificate signed by the CA (CN lampd-test-client,
                            clientAuth), for mutual TLS (fault_proxy.py --tls-client-ca ca.pem)
    rogue.pem, rogue.key    a second, self-signed server certificate for the same names, that
                            no configured CA trusts (the "agent must refuse this" case)

Needs `cryptography` (Tests/Peers/requirements.txt). Prints the files written.
"""
import datetime
import ipaddress
import os
import sys

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError as error:
    print(f"make_test_certs: {error}: run scripts/setup --test", file=sys.stderr)
    sys.exit(3)

SERVER_NAMES = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
                x509.DNSName("localhost")]


def name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "lampd tests"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(subject: str, key, issuer_name: x509.Name, issuer_key, *, ca: bool = False,
                usage=None, names=None, issuer_cert=None) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder()
               .subject_name(name(subject))
               .issuer_name(issuer_name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=True, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if issuer_cert is not None:
        ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def write(outdir: str, stem: str, cert: x509.Certificate, key) -> list[str]:
    cert_path, key_path = os.path.join(outdir, f"{stem}.pem"), os.path.join(outdir, f"{stem}.key")
    with open(cert_path, "wb") as file:
        file.write(cert.public_bytes(serialization.Encoding.PEM))
    key_bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(key_bytes)
    return [cert_path, key_path]


def make(outdir: str) -> list[str]:
    os.makedirs(outdir, exist_ok=True)
    new_key = lambda: ec.generate_private_key(ec.SECP256R1())
    ca_key, server_key, client_key, rogue_key = new_key(), new_key(), new_key(), new_key()
    ca = certificate("lampd test CA", ca_key, name("lampd test CA"), ca_key, ca=True)
    server = certificate("localhost", server_key, ca.subject, ca_key,
                         usage=ExtendedKeyUsageOID.SERVER_AUTH, names=SERVER_NAMES, issuer_cert=ca)
    client = certificate("lampd-test-client", client_key, ca.subject, ca_key,
                         usage=ExtendedKeyUsageOID.CLIENT_AUTH, issuer_cert=ca)
    rogue = certificate("localhost", rogue_key, name("localhost"), rogue_key,
                        usage=ExtendedKeyUsageOID.SERVER_AUTH, names=SERVER_NAMES)
    written = []
    for stem, cert, key in (("ca", ca, ca_key), ("server", server, server_key),
                            ("client", client, client_key), ("rogue", rogue, rogue_key)):
        written += write(outdir, stem, cert, key)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1].startswith("-"):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    for path in make(argv[1]):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
