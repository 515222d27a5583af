"""UPS status from RFC 1628 UPS-MIB, APC PowerNet-MIB and Eaton XUPS-MIB, in one vocabulary and unit set.

Units differ by MIB and are normalised here: UPS-MIB runtime is minutes, APC's is TimeTicks (1/100 s,
minutes = ticks / 6000), XUPS's is seconds. Each value comes from the first MIB that gives a usable
one, in the order UPS-MIB, APC, XUPS. Sentinels (-1, 2^31-1, 2^32-1), values of the wrong type, and
values outside the object's SYNTAX are "unknown" with the reason, never a number.
"""

from __future__ import annotations

from ...details.snmp import UpsStatus
from . import mibs
from .walk import TIMETICKS, Reading, Walk, number, text

SENTINELS = (-1, 2147483647, 4294967295)
MAX_RUNTIME_MIN = 7 * 24 * 60    # a week on battery: beyond that the estimate is a broken agent, not a UPS
MAX_ON_BATTERY_S = 366 * 86400


def _first(status: UpsStatus, name: str, readings: list[tuple[Reading | None, object]]) -> None:
    """Set `name` from the first usable reading (each paired with a conversion); else record why not."""
    reasons = []
    for reading, convert in readings:
        if reading is None:
            continue
        if reading.ok:
            setattr(status, name, convert(reading.value) if callable(convert) else reading.value)
            return
        if not reading.reason.endswith("not available"):
            reasons.append(reading.reason)
    status.not_measured[name] = "; ".join(reasons) or "no UPS MIB gives it"


def _typed(walk: Walk, o, name: str, tag: int, **kw) -> Reading | None:
    """A reading whose unit depends on its type (APC runtime is TimeTicks): refuse any other type."""
    entry = walk.values.get(o)
    if entry is None:
        return None
    if entry[0] != tag:
        return Reading(None, f"{name} has the wrong type (tag {entry[0]}, expected TimeTicks)")
    return number(entry, name, **kw)


def parse(walk: Walk) -> UpsStatus:
    s = UpsStatus()
    has = {"UPS-MIB": walk.has_subtree(mibs.oid("1.3.6.1.2.1.33.1")),
           "PowerNet-MIB": walk.has_subtree(mibs.oid("1.3.6.1.4.1.318.1.1.1")),
           "XUPS-MIB": walk.has_subtree(mibs.oid("1.3.6.1.4.1.534.1"))}
    s.mibs = [k for k, v in has.items() if v]
    if not s.mibs:
        s.reason = walk.problem("UPS scalars") or "the device has no UPS-MIB, APC PowerNet-MIB or XUPS-MIB values"
        return s
    s.model = next((t for t in (walk.text(mibs.UPS_IDENT_MODEL), walk.text(mibs.APC_MODEL),
                                walk.text(mibs.XUPS_MODEL)) if t), "")
    n = walk.number
    _first(s, "battery_status", [
        (n(mibs.UPS_BATTERY_STATUS, "upsBatteryStatus", 1, 4), mibs.UPS_BATTERY_STATUS_NAMES.get),
        (n(mibs.APC_BATTERY_STATUS, "upsBasicBatteryStatus", 1, 5), mibs.APC_BATTERY_STATUS_NAMES.get),
        (n(mibs.XUPS_ABM_STATUS, "xupsBatteryAbmStatus", 1, 8), mibs.XUPS_ABM_NAMES.get)])
    _first(s, "charge_pct", [
        (n(mibs.UPS_CHARGE_REMAINING, "upsEstimatedChargeRemaining", 0, 100), float),
        (n(mibs.APC_HP_CAPACITY, "upsHighPrecBatteryCapacity", 0, 1000), lambda v: v / 10.0),
        (n(mibs.APC_CAPACITY, "upsAdvBatteryCapacity", 0, 100), float),
        (n(mibs.XUPS_CAPACITY, "xupsBatCapacity", 0, 100), float)])
    low = s.battery_status in ("low", "depleted")
    _first(s, "runtime_min", [
        # UPS-MIB: PositiveInteger minutes, so 0 is no estimate - unless the battery is low or depleted.
        (n(mibs.UPS_MINUTES_REMAINING, "upsEstimatedMinutesRemaining", 0 if low else 1, MAX_RUNTIME_MIN,
           SENTINELS), float),
        (_typed(walk, mibs.APC_RUNTIME, "upsAdvBatteryRunTimeRemaining", TIMETICKS, lo=0,
                hi=MAX_RUNTIME_MIN * 6000, sentinels=SENTINELS), lambda v: v / 6000.0),
        (n(mibs.XUPS_TIME_REMAINING, "xupsBatTimeRemaining", 0, MAX_RUNTIME_MIN * 60, SENTINELS),
         lambda v: v / 60.0)])
    _first(s, "on_battery_s", [
        (n(mibs.UPS_SECONDS_ON_BATTERY, "upsSecondsOnBattery", 0, MAX_ON_BATTERY_S, SENTINELS), float),
        (_typed(walk, mibs.APC_TIME_ON_BATTERY, "upsBasicBatteryTimeOnBattery", TIMETICKS, lo=0,
                hi=MAX_ON_BATTERY_S * 100, sentinels=SENTINELS), lambda v: v / 100.0)])
    _first(s, "output_source", [
        (n(mibs.UPS_OUTPUT_SOURCE, "upsOutputSource", 1, 7), mibs.UPS_OUTPUT_SOURCE_NAMES.get),
        (n(mibs.APC_OUTPUT_STATUS, "upsBasicOutputStatus", 1), lambda v: mibs.APC_OUTPUT_SOURCE.get(v, "other")),
        (n(mibs.XUPS_OUTPUT_SOURCE, "xupsOutputSource", 1, 12), mibs.XUPS_OUTPUT_SOURCE_NAMES.get)])
    if s.output_source == "other":
        # RFC 1628 other(1) says nothing; a vendor MIB may know better (e.g. APC and UPS-MIB together).
        for reading, names in ((n(mibs.APC_OUTPUT_STATUS, "upsBasicOutputStatus", 1), mibs.APC_OUTPUT_SOURCE),
                               (n(mibs.XUPS_OUTPUT_SOURCE, "xupsOutputSource", 1, 12), mibs.XUPS_OUTPUT_SOURCE_NAMES)):
            if reading.ok and names.get(reading.value, "other") != "other":  # type: ignore[arg-type]
                s.output_source = names[reading.value]  # type: ignore[index]
                break
    _first(s, "load_pct", [
        (_max_line_load(walk), float),
        (n(mibs.APC_HP_LOAD, "upsHighPrecOutputLoad", 0, 2000), lambda v: v / 10.0),
        (n(mibs.APC_LOAD, "upsAdvOutputLoad", 0, 200), float),
        (n(mibs.XUPS_OUTPUT_LOAD, "xupsOutputLoad", 0, 200), float)])
    s.alarms = _alarms(walk)
    s.on_battery = _on_battery(s)
    if s.on_battery is None:
        s.not_measured["on_battery"] = "neither the output source nor the time on battery could be read"
    return s


def _max_line_load(walk: Walk) -> Reading | None:
    """upsOutputPercentLoad per output line (0..200 %): the most loaded phase decides."""
    rows = walk.column(mibs.UPS_OUTPUT_PERCENT_LOAD)
    if not rows:
        return None
    readings = [number(e, "upsOutputPercentLoad", 0, 200) for e in rows.values()]
    good = [r.value for r in readings if r.ok]
    return Reading(max(good)) if good else readings[0]  # type: ignore[type-var]


def _alarms(walk: Walk) -> list[str]:
    names = []
    base = mibs.UPS_WELL_KNOWN_ALARMS
    for entry in walk.column(mibs.UPS_ALARM_DESCR).values():
        value = text(entry) or ""
        parts = tuple(int(x) for x in value.split(".") if x.isdigit())
        if parts[:len(base)] == base and len(parts) == len(base) + 1:
            names.append(mibs.UPS_ALARM_NAMES.get(parts[-1], value))
        elif value:
            names.append(value)
    count = walk.number(mibs.UPS_ALARMS_PRESENT, "upsAlarmsPresent", 0, 10000)
    if count.ok and count.value and not names:
        names.append(f"{count.value} alarm(s) present (UPS-MIB)")
    replace = walk.number(mibs.APC_REPLACE, "upsAdvBatteryReplaceIndicator", 1, 2)
    if replace.ok and replace.value == 2:
        names.append("batteryNeedsReplacing")
    xups = walk.number(mibs.XUPS_ALARMS, "xupsAlarms", 0, 10000)
    if xups.ok and xups.value:
        names.append(f"{xups.value} alarm(s) present (XUPS-MIB)")
    return names


def _on_battery(s: UpsStatus) -> bool | None:
    if s.output_source == "battery":
        return True
    if s.output_source in ("normal", "bypass", "booster", "reducer", "eco", "none"):
        return False
    if s.on_battery_s is not None:
        return s.on_battery_s > 0       # RFC 1628: zero when not on battery
    if s.battery_status == "discharging":
        return True
    return None
