"""The own SNMPv2c codec (readiness/probes/snmp/ber.py) against pysnmp/pyasn1, the reference:
- requests: byte for byte what pysnmp encodes for the same request;
- responses: every record of every corpus walk, served as snmpsim would serve it (snmpsim's own record
  evaluation, pysnmp's encoder), decodes to what pysnmp decodes; so do fuzzed messages (hypothesis);
  tests/snmp/test_corpus.py also polls every corpus walk through both and compares;
- malformed messages: only ever BerError, and where the two disagree it is one of the documented
  differences (ber.py docstring): pyasn1 refusing an out-of-range SMI value the parsers judge later, or
  ber refusing an encoding RFC 3417 forbids.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder
from pyasn1.type import univ
from pysnmp.proto import rfc1902, rfc1905
from pysnmp.proto.api import v2c
from snmpsim.record.snmprec import SnmprecRecord

from readiness.probes.snmp import ber
from readiness.probes.snmp.via_pysnmp import convert

COMMUNITY = b"not-a-secret"
FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def response(varbinds, request_id=4711, status=0, index=0, community=COMMUNITY) -> bytes:
    """A v2c Response encoded by pysnmp."""
    pdu = v2c.ResponsePDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    v2c.apiPDU.set_error_status(pdu, status)
    v2c.apiPDU.set_error_index(pdu, index)
    v2c.apiPDU.set_varbinds(pdu, varbinds)
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    v2c.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg)


def reference(data: bytes) -> tuple:
    """pysnmp's reading of a v2c Response, in ber.V2cResponse's terms."""
    msg, _ = decoder.decode(data, asn1Spec=v2c.Message())
    if int(msg[0]) != ber.VERSION_2C:
        raise ValueError("not v2c")
    pdu = v2c.apiMessage.get_pdu(msg)
    if not pdu.isSameTypeWith(v2c.ResponsePDU()):
        raise ValueError("not a Response")
    return (int(v2c.apiPDU.get_request_id(pdu)), int(v2c.apiPDU.get_error_status(pdu)),
            int(v2c.apiPDU.get_error_index(pdu)),
            [(tuple(n), *convert(v)) for n, v in v2c.apiPDU.get_varbinds(pdu)],
            bytes(v2c.apiMessage.get_community(msg)))


def ours(data: bytes) -> tuple:
    r = ber.decode_response(data)
    return r.request_id, r.error_status, r.error_index, r.varbinds, r.community


# --- strategies: every value type SNMPv2c carries, within its SMI range ------------------------------------
arcs = st.integers(0, 2**32 - 1)
oids = st.one_of(
    st.tuples(st.integers(0, 1), st.integers(0, 39), st.lists(arcs, max_size=20)),
    st.tuples(st.just(2), st.integers(0, 2**20), st.lists(arcs, max_size=20)),
).map(lambda t: (t[0], t[1], *t[2]))
values = st.one_of(
    st.integers(-2**31, 2**31 - 1).map(v2c.Integer32),
    st.binary(max_size=300).map(v2c.OctetString),
    oids.map(v2c.ObjectIdentifier),
    st.binary(min_size=4, max_size=4).map(lambda b: v2c.IpAddress(b)),
    st.integers(0, 2**32 - 1).map(v2c.Counter32),
    st.integers(0, 2**32 - 1).map(v2c.Gauge32),
    st.integers(0, 2**32 - 1).map(v2c.TimeTicks),
    st.binary(max_size=40).map(v2c.Opaque),
    st.integers(0, 2**64 - 1).map(v2c.Counter64),
    st.just(None).map(lambda _: v2c.Null("")),
    st.sampled_from([rfc1905.noSuchObject, rfc1905.noSuchInstance, rfc1905.endOfMibView]),
)


@st.composite
def messages(draw) -> bytes:
    varbinds = draw(st.lists(st.tuples(oids, values), max_size=40))
    return response(varbinds, draw(st.integers(-2**31, 2**31 - 1)), draw(st.integers(0, 18)),
                    draw(st.integers(0, len(varbinds))), draw(st.binary(max_size=40)))


@FUZZ
@given(messages())
def test_well_formed_responses_decode_as_pysnmp_decodes_them(data):
    assert ours(data) == reference(data)


def _mutate(data: bytes, how: int, at: int, junk: bytes) -> bytes:
    at %= len(data)
    if how == 0:
        return data[:at] + bytes([junk[0] if junk else 0]) + data[at + 1:]   # one octet changed
    if how == 1:
        return data[:at]                                                     # truncated
    if how == 2:
        return data[:at] + junk + data[at:]                                  # octets inserted
    return data[:at] + data[at + 1 + len(junk):]                             # octets removed


def _pyasn1_refuses_a_range_only(error: Exception) -> bool:
    # pysnmp's SMI constraints (Counter32 of -5, IpAddress of 3 octets, error-index past the last
    # variable): ber keeps such values and the parsers refuse them with a reason
    text = f"{type(error).__name__}: {error}"
    return ("ValueConstraintError" in text or "Bad IP address syntax" in text
            or "Error index out of range" in text)


def _ber_refuses_what_rfc3417_forbids(error: ber.BerError) -> bool:
    text = str(error)
    return "constructed encoding" in text or "indefinite length" in text or "octets (SNMP" in text


@FUZZ
@given(messages(), st.integers(0, 3), st.integers(0, 10_000), st.binary(min_size=1, max_size=4))
def test_damaged_messages_fail_clearly_and_never_disagree(data, how, at, junk):
    damaged = _mutate(data, how, at, junk)
    try:
        mine, my_error = ours(damaged), None
    except ber.BerError as e:            # anything else escaping is a bug
        mine, my_error = None, e
    try:
        ref, ref_error = reference(damaged), None
    except Exception as e:               # pyasn1 and pysnmp raise many kinds
        ref, ref_error = None, e
    if mine is not None and ref is not None:
        assert mine == ref
    elif mine is not None:
        assert _pyasn1_refuses_a_range_only(ref_error), ref_error
    elif ref is not None:
        assert my_error is not None and _ber_refuses_what_rfc3417_forbids(my_error), my_error


def test_values_outside_their_smi_range_are_kept_for_the_parsers():
    # Counter32 -5 (content ff fb) and a 3-octet IpAddress: pysnmp refuses the whole message
    data = response([((1, 3, 6, 1, 2, 1, 2, 2, 1, 14, 1), rfc1902.Counter32(5))])
    data = data.replace(bytes([0x41, 0x01, 0x05]), bytes([0x41, 0x01, 0xFB]))
    with pytest.raises(Exception):
        reference(data)
    assert ber.decode_response(data).varbinds == [((1, 3, 6, 1, 2, 1, 2, 2, 1, 14, 1), 65, -5)]


def _tlv(tag: int, content: bytes) -> bytes:
    assert len(content) < 128
    return bytes([tag, len(content)]) + content


def _message(varbind: bytes, version: int = 1, pdu: int = ber.RESPONSE) -> bytes:
    """A message with correct lengths around one (possibly broken) encoded variable binding."""
    header = _tlv(0x02, bytes([1])) + _tlv(0x02, b"\x00") + _tlv(0x02, b"\x00")
    return _tlv(0x30, _tlv(0x02, bytes([version])) + _tlv(0x04, b"c") + _tlv(pdu, header + _tlv(0x30, varbind)))


def _varbind(name: bytes, value: bytes) -> bytes:
    return _tlv(0x30, name + value)


SYS_UPTIME = bytes.fromhex("06082b06010201010300")
MALFORMED = [
    (b"", "truncated"),
    (b"\x30\x80\x02\x01\x01\x00\x00", "indefinite length"),
    (_message(_varbind(SYS_UPTIME, b"\x43\x01\x05"))[:-2], "truncated"),
    (_message(_varbind(SYS_UPTIME, b"\x43\x84\x00\x00\x00\x05\x05")), "runs past"),
    (_message(_varbind(SYS_UPTIME, b"\x43\x85\x00\x00\x00\x00\x01\x05")), "length in 5 octets"),
    (_message(_varbind(SYS_UPTIME, b"\x05\x00"), version=0), "not an SNMPv2c message"),
    (_message(_varbind(SYS_UPTIME, b"\x05\x00"), pdu=ber.GET), "not a Response"),
    (_message(_varbind(b"\x06\x00", b"\x05\x00")), "empty OBJECT IDENTIFIER"),
    (_message(_varbind(b"\x06\x03\x2b\x80\x01", b"\x05\x00")), "padded with 0x80"),
    (_message(_varbind(b"\x06\x02\x2b\x86", b"\x05\x00")), "ends inside a sub-identifier"),
    (_message(_varbind(SYS_UPTIME, b"\x05\x01\xff")), "NULL value"),
    (_message(_varbind(SYS_UPTIME, b"\x82\x01\x00")), "NULL value"),
    (_message(_varbind(SYS_UPTIME, b"\x24\x03\x04\x01\x41")), "constructed encoding"),
    (_message(_varbind(SYS_UPTIME, b"\x47\x01\x01")), "unknown value type"),
    (_message(_varbind(SYS_UPTIME, b"\x1f\x01\x01")), "multi-octet tag"),
    (_message(_varbind(SYS_UPTIME, b"\x05\x00\x05\x00")), "octets after a variable binding"),
    (_message(b"\x31\x00"), "not a SEQUENCE"),
]


@pytest.mark.parametrize("data, reason", MALFORMED)
def test_malformed_messages_say_what_is_wrong(data, reason):
    with pytest.raises(ber.BerError, match=reason):
        ber.decode_response(data)


def test_octets_after_the_message_are_ignored_as_pysnmp_does():
    data = response([((1, 3, 6, 1, 2, 1, 1, 3, 0), v2c.TimeTicks(100))])
    assert ours(data + b"\x00\xff") == reference(data + b"\x00\xff")


# --- requests ------------------------------------------------------------------------------------------------
def _pysnmp_request(pdu_type: int, community: bytes, request_id: int, names, non_repeaters: int, reps: int) -> bytes:
    pdu = {ber.GET: v2c.GetRequestPDU, ber.GETNEXT: v2c.GetNextRequestPDU, ber.GETBULK: v2c.GetBulkRequestPDU}[pdu_type]()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_request_id(pdu, request_id)
    if pdu_type == ber.GETBULK:
        v2c.apiBulkPDU.set_non_repeaters(pdu, non_repeaters)
        v2c.apiBulkPDU.set_max_repetitions(pdu, reps)
    v2c.apiPDU.set_varbinds(pdu, [(n, v2c.null) for n in names])
    msg = v2c.Message()
    v2c.apiMessage.set_defaults(msg)
    v2c.apiMessage.set_community(msg, community)
    v2c.apiMessage.set_pdu(msg, pdu)
    return encoder.encode(msg)


@settings(FUZZ, max_examples=150)
@given(st.sampled_from([ber.GET, ber.GETNEXT, ber.GETBULK]), st.binary(max_size=64), st.integers(0, 2**31 - 1),
       st.lists(oids, min_size=1, max_size=20), st.integers(0, 10), st.integers(0, 2**31 - 1))
def test_requests_are_byte_for_byte_what_pysnmp_sends(pdu_type, community, request_id, names, nr, reps):
    if pdu_type != ber.GETBULK:
        nr = reps = 0
    mine = ber.encode_request(community, pdu_type, request_id, names, nr, reps)
    assert mine == _pysnmp_request(pdu_type, community, request_id, names, nr, reps)
    assert ber.request_id_of(mine) == request_id


def test_unencodable_oids_are_refused():
    for bad in [(1,), (3, 1), (1, 40), (1, 3, -1)]:
        with pytest.raises(ber.BerError, match="cannot encode OID"):
            ber.encode_request(b"c", ber.GET, 1, [bad])


# --- every corpus walk ---------------------------------------------------------------------------------------
def _corpus_records(folder) -> tuple[list, int]:
    """(OID, pysnmp value) of every record, as snmpsim serves it (its own record evaluation), and how many
    records snmpsim cannot serve either."""
    evaluate = SnmprecRecord().evaluate
    records, refused = [], 0
    for path in sorted(folder.glob("*/*.snmprec")):
        for line in path.read_bytes().splitlines():
            if line.count(b"|") < 2 or line.startswith(b"#") or b":" in line.split(b"|")[1]:
                continue             # not a record, or a variation module computing its value at run time
            try:
                records.append(evaluate(line + b"\n"))
            except Exception:
                refused += 1
    return records, refused


@pytest.mark.corpus
def test_every_corpus_record_decodes_as_pysnmp_decodes_it(snmp_corpus):
    """A variable binding's name and value are decoded independently, so: every distinct value, in
    Responses of 64 (full messages, both decoders), and every name through pyasn1's OBJECT IDENTIFIER
    decoder. The same as every record in full messages, in a third of the time."""
    records, refused = _corpus_records(snmp_corpus)
    assert len(records) > 90_000 and refused < len(records) / 1000, (len(records), refused)
    distinct = list({encoder.encode(value): (name, value) for name, value in records}.values())
    for i in range(0, len(distinct), 64):
        data = response(distinct[i:i + 64])
        assert ours(data) == reference(data), distinct[i:i + 64]
    spec = univ.ObjectIdentifier()
    for name, _ in records:
        data = encoder.encode(name)
        _, start, stop = ber._header(data, 0, len(data))
        assert ber.decode_oid(data, start, stop) == tuple(decoder.decode(data, asn1Spec=spec)[0])
