"""How an SNMP exchange fails. Messages name the device and the kind of credential, never its value."""

from __future__ import annotations

from ...errors import ReadinessError

# RFC 3416 section 3: error-status values
ERROR_STATUS = {1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr", 6: "noAccess",
                7: "wrongType", 8: "wrongLength", 9: "wrongEncoding", 10: "wrongValue", 11: "noCreation",
                12: "inconsistentValue", 13: "resourceUnavailable", 14: "commitFailed", 15: "undoFailed",
                16: "authorizationError", 17: "notWritable", 18: "inconsistentName"}
TOO_BIG = 1


class SnmpError(ReadinessError):
    """The agent did not answer as asked."""


class SnmpTimeout(SnmpError):
    pass


class SnmpPduError(SnmpError):
    """The agent answered, with an error status (noSuchName, genErr, tooBig ...)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


def no_answer(where: str, creds, timeout: float, retries: int) -> SnmpTimeout:
    hint = ("wrong community, wrong address, or SNMP blocked" if creds.version != "3"
            else "wrong address, SNMP blocked, or a wrong privacy key")
    return SnmpTimeout(f"{where}: no answer within {timeout:g} s x {retries + 1} tries ({hint})")


def pdu_error(where: str, status: int, index: int) -> SnmpPduError:
    return SnmpPduError(f"{where}: the agent answered {ERROR_STATUS.get(status, status)} at variable {index}",
                        status)
