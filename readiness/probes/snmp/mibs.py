"""Numeric OIDs, enumerations and units of the MIB objects the audit reads.

Sources, the MIB texts: IF-MIB (RFC 2863), EtherLike-MIB (RFC 3635), BRIDGE-MIB (RFC 4188), Q-BRIDGE-MIB
(RFC 4363), CISCO-VTP-MIB, CISCO-VLAN-MEMBERSHIP-MIB, POWER-ETHERNET-MIB (RFC 3621),
CISCO-POWER-ETHERNET-EXT-MIB, LLDP-MIB (IEEE 802.1AB-2005), LLDP-EXT-MED-MIB (ANSI/TIA-1057), UPS-MIB
(RFC 1628), APC PowerNet-MIB, Eaton XUPS-MIB; each OID cross-checked against Cisco's generated .oid files
or pysnmp-compiled modules.
No MIB files are loaded at run time: the OIDs are numbers, so nothing depends on a MIB compiler.
"""

from __future__ import annotations

OID = tuple[int, ...]


def oid(text: str) -> OID:
    return tuple(int(x) for x in text.strip(".").split("."))


def dotted(o: OID) -> str:
    return ".".join(str(x) for x in o)


# --- SNMPv2-MIB system group (RFC 3418) ---------------------------------------------------------------
SYS_DESCR = oid("1.3.6.1.2.1.1.1.0")
SYS_OBJECT_ID = oid("1.3.6.1.2.1.1.2.0")
SYS_UPTIME = oid("1.3.6.1.2.1.1.3.0")            # TimeTicks, 1/100 s
SYS_NAME = oid("1.3.6.1.2.1.1.5.0")
SYSTEM = [SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME]
# Table sizes, read with the system group so walks can ask for just enough rows.
IF_NUMBER = oid("1.3.6.1.2.1.2.1.0")                 # IF-MIB ifNumber
BASE_NUM_PORTS = oid("1.3.6.1.2.1.17.1.2.0")         # BRIDGE-MIB dot1dBaseNumPorts

# --- IF-MIB (RFC 2863), index ifIndex ------------------------------------------------------------------
IF_DESCR = oid("1.3.6.1.2.1.2.2.1.2")
IF_TYPE = oid("1.3.6.1.2.1.2.2.1.3")
IF_SPEED = oid("1.3.6.1.2.1.2.2.1.5")             # Gauge32 bit/s; 4294967295 when faster -> ifHighSpeed
IF_OPER_STATUS = oid("1.3.6.1.2.1.2.2.1.8")
IF_IN_DISCARDS = oid("1.3.6.1.2.1.2.2.1.13")      # Counter32
IF_IN_ERRORS = oid("1.3.6.1.2.1.2.2.1.14")
IF_OUT_DISCARDS = oid("1.3.6.1.2.1.2.2.1.19")
IF_OUT_ERRORS = oid("1.3.6.1.2.1.2.2.1.20")
IF_NAME = oid("1.3.6.1.2.1.31.1.1.1.1")
IF_HIGH_SPEED = oid("1.3.6.1.2.1.31.1.1.1.15")    # Gauge32 Mbit/s
IF_SPEED_SATURATED = 4294967295                    # RFC 2863 ifSpeed: "maximum value" -> read ifHighSpeed

IF_OPER = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}
# IANAifType values of physical Ethernet ports: ethernetCsmacd(6), fastEther(62), fastEtherFX(69),
# gigabitEthernet(117). Virtual interfaces (VLAN, loopback, tunnels) are not on the voice path by default.
ETHERNET_IF_TYPES = frozenset({6, 62, 69, 117})

# --- EtherLike-MIB (RFC 3635) dot3StatsDuplexStatus, index ifIndex -------------------------------------
DOT3_DUPLEX = oid("1.3.6.1.2.1.10.7.2.1.19")
DUPLEX = {1: "unknown", 2: "half", 3: "full"}

# --- BRIDGE-MIB (RFC 4188) / Q-BRIDGE-MIB (RFC 4363) ---------------------------------------------------
BASE_PORT_IFINDEX = oid("1.3.6.1.2.1.17.1.4.1.2")             # index dot1dBasePort
Q_STATIC_NAME = oid("1.3.6.1.2.1.17.7.1.4.3.1.1")             # index dot1qVlanIndex (= VLAN ID)
Q_STATIC_EGRESS = oid("1.3.6.1.2.1.17.7.1.4.3.1.2")           # PortList
Q_STATIC_UNTAGGED = oid("1.3.6.1.2.1.17.7.1.4.3.1.4")         # PortList
Q_CURRENT_EGRESS = oid("1.3.6.1.2.1.17.7.1.4.2.1.4")          # index (dot1qVlanTimeMark, dot1qVlanIndex)
Q_CURRENT_UNTAGGED = oid("1.3.6.1.2.1.17.7.1.4.2.1.5")
Q_PVID = oid("1.3.6.1.2.1.17.7.1.4.5.1.1")                    # index dot1dBasePort

# --- CISCO-VTP-MIB vtpVlanTable, index (managementDomainIndex, vtpVlanIndex) ---------------------------
# Column numbers inferred from recorded walks (not read in the MIB text); they agree with the ios_2960x walk and
# LibreNMS's VLAN names for it (tests/snmp/test_corpus.py).
VTP_VLAN_STATE = oid("1.3.6.1.4.1.9.9.46.1.3.1.1.2")          # operational(1) suspended(2) mtuTooBig...(3..)
VTP_VLAN_NAME = oid("1.3.6.1.4.1.9.9.46.1.3.1.1.4")
# --- CISCO-VLAN-MEMBERSHIP-MIB, index ifIndex -----------------------------------------------------------
VM_VLAN = oid("1.3.6.1.4.1.9.9.68.1.2.2.1.2")                 # access VLAN
VM_VOICE_VLAN = oid("1.3.6.1.4.1.9.9.68.1.5.1.1.1")           # vmVoiceVlanId
VM_VOICE_NONE = 4096          # vmVoiceVlanId: "no voice VLAN / not supported"
VM_VOICE_DOT1P = 0            # VLAN 0 + 802.1p (priority-tagged)
VM_VOICE_UNTAGGED = 4095      # untagged, no 802.1p

# --- POWER-ETHERNET-MIB (RFC 3621) ---------------------------------------------------------------------
PETH_PORT_ADMIN = oid("1.3.6.1.2.1.105.1.1.1.3")              # index (group, port); true(1) false(2)
PETH_PORT_DETECTION = oid("1.3.6.1.2.1.105.1.1.1.6")
PETH_PORT_CLASS = oid("1.3.6.1.2.1.105.1.1.1.10")             # class0(1)..class4(5): value = class + 1
PETH_MAIN_POWER = oid("1.3.6.1.2.1.105.1.3.1.1.2")            # Gauge32 W, index pethMainPseGroupIndex
PETH_MAIN_OPER = oid("1.3.6.1.2.1.105.1.3.1.1.3")             # on(1) off(2) faulty(3)
PETH_MAIN_CONSUMPTION = oid("1.3.6.1.2.1.105.1.3.1.1.4")      # Gauge32 W
PETH_MAIN_THRESHOLD = oid("1.3.6.1.2.1.105.1.3.1.1.5")        # Integer32 (1..99) %
PETH_DETECTION = {1: "disabled", 2: "searching", 3: "deliveringPower", 4: "fault", 5: "test", 6: "otherFault"}
PETH_MAIN_OPER_NAMES = {1: "on", 2: "off", 3: "faulty"}
# CISCO-POWER-ETHERNET-EXT-MIB port entry AUGMENTS pethPsePortEntry; values in milliwatts.
CPE_PORT_ALLOCATED = oid("1.3.6.1.4.1.9.9.402.1.2.1.7")     # in the lab walks; the audit does not read it
CPE_PORT_CONSUMPTION = oid("1.3.6.1.4.1.9.9.402.1.2.1.9")
# Cisco main PSE (index pethMainPseGroupIndex), used where pethMainPseTable is absent: milliwatts.
CPE_MAIN_USED = oid("1.3.6.1.4.1.9.9.402.1.3.1.1.4")
CPE_MAIN_REMAINING = oid("1.3.6.1.4.1.9.9.402.1.3.1.1.5")

# IEEE 802.3af/at/bt: maximum power at the PSE port per PD class, W (cross-checked in several vendors' manuals).
CLASS_POWER_W = {0: 15.4, 1: 4.0, 2: 7.0, 3: 15.4, 4: 30.0, 5: 45.0, 6: 60.0, 7: 75.0, 8: 90.0}

# --- LLDP-MIB (IEEE 802.1AB-2005), remote table index (TimeMark, LocalPortNum, RemIndex) ---------------
LLDP_REM_CHASSIS_ID = oid("1.0.8802.1.1.2.1.4.1.1.5")
LLDP_REM_PORT_ID = oid("1.0.8802.1.1.2.1.4.1.1.7")
LLDP_REM_SYS_NAME = oid("1.0.8802.1.1.2.1.4.1.1.9")
LLDP_REM_CAP_ENABLED = oid("1.0.8802.1.1.2.1.4.1.1.12")      # BITS, telephone(5)
LLDP_CAP_TELEPHONE_BIT = 5

# --- LLDP-EXT-MED-MIB (ANSI/TIA-1057), base 1.0.8802.1.1.2.1.5.4795 ------------------------------------
MED_PORT_CAP_SUPPORTED = oid("1.0.8802.1.1.2.1.5.4795.1.1.2.1.1")  # BITS; networkPolicy(1)
MED_CAP_NETWORK_POLICY_BIT = 1
# Local media policy, index (lldpLocPortNum, lldpXMedLocMediaPolicyAppType). AppType is BITS used as an
# index: a length-prefixed OCTET STRING (RFC 2578 section 7.7), voice(1) = 0x40 -> "<port>.1.64"; derived
# from the SMI rules, not yet seen in a recorded walk.
MED_LOC_POLICY_VLAN = oid("1.0.8802.1.1.2.1.5.4795.1.2.1.1.2")
MED_LOC_POLICY_PRIORITY = oid("1.0.8802.1.1.2.1.5.4795.1.2.1.1.3")
MED_LOC_POLICY_DSCP = oid("1.0.8802.1.1.2.1.5.4795.1.2.1.1.4")
MED_LOC_POLICY_UNKNOWN = oid("1.0.8802.1.1.2.1.5.4795.1.2.1.1.5")  # TruthValue
MED_LOC_POLICY_TAGGED = oid("1.0.8802.1.1.2.1.5.4795.1.2.1.1.6")
MED_APP_VOICE_BIT = 1
MED_REM_DEVICE_CLASS = oid("1.0.8802.1.1.2.1.5.4795.1.3.1.1.3")    # endpointClass3(3) = IP phone
MED_CLASS_ENDPOINT_3 = 3

TRUTH = {1: True, 2: False}   # SNMPv2-TC TruthValue

# --- UPS-MIB (RFC 1628) ----------------------------------------------------------------------------------
UPS_IDENT_MANUFACTURER = oid("1.3.6.1.2.1.33.1.1.1.0")
UPS_IDENT_MODEL = oid("1.3.6.1.2.1.33.1.1.2.0")
UPS_BATTERY_STATUS = oid("1.3.6.1.2.1.33.1.2.1.0")
UPS_SECONDS_ON_BATTERY = oid("1.3.6.1.2.1.33.1.2.2.0")       # seconds, 0 = on utility
UPS_MINUTES_REMAINING = oid("1.3.6.1.2.1.33.1.2.3.0")        # minutes, PositiveInteger (1..)
UPS_CHARGE_REMAINING = oid("1.3.6.1.2.1.33.1.2.4.0")         # % (0..100)
UPS_OUTPUT_SOURCE = oid("1.3.6.1.2.1.33.1.4.1.0")
UPS_OUTPUT_PERCENT_LOAD = oid("1.3.6.1.2.1.33.1.4.4.1.5")    # column, index upsOutputLineIndex; 0..200 %
UPS_ALARMS_PRESENT = oid("1.3.6.1.2.1.33.1.6.1.0")
UPS_ALARM_DESCR = oid("1.3.6.1.2.1.33.1.6.2.1.2")            # column: OID of a well-known alarm
UPS_WELL_KNOWN_ALARMS = oid("1.3.6.1.2.1.33.1.6.3")
UPS_BATTERY_STATUS_NAMES = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}
UPS_OUTPUT_SOURCE_NAMES = {1: "other", 2: "none", 3: "normal", 4: "bypass", 5: "battery", 6: "booster",
                           7: "reducer"}
UPS_ALARM_NAMES = {1: "batteryBad", 2: "onBattery", 3: "lowBattery", 4: "depletedBattery", 5: "tempBad",
                   6: "inputBad", 7: "outputBad", 8: "outputOverload", 9: "onBypass", 10: "bypassBad",
                   11: "outputOffAsRequested", 12: "upsOffAsRequested", 13: "chargerFailed",
                   14: "upsOutputOff", 15: "upsSystemOff", 16: "fanFailure", 17: "fuseFailure",
                   18: "generalFault", 19: "diagnosticTestFailed", 20: "communicationsLost",
                   21: "awaitingPower", 22: "shutdownPending", 23: "shutdownImminent", 24: "testInProgress"}

# --- APC PowerNet-MIB, UPS branch 1.3.6.1.4.1.318.1.1.1 (scalars) ---------------------------------------
APC_MODEL = oid("1.3.6.1.4.1.318.1.1.1.1.1.1.0")
APC_BATTERY_STATUS = oid("1.3.6.1.4.1.318.1.1.1.2.1.1.0")
APC_TIME_ON_BATTERY = oid("1.3.6.1.4.1.318.1.1.1.2.1.2.0")    # TimeTicks
APC_CAPACITY = oid("1.3.6.1.4.1.318.1.1.1.2.2.1.0")           # %
APC_RUNTIME = oid("1.3.6.1.4.1.318.1.1.1.2.2.3.0")            # TimeTicks (1/100 s): minutes = value / 6000
APC_REPLACE = oid("1.3.6.1.4.1.318.1.1.1.2.2.4.0")            # noBatteryNeedsReplacing(1) batteryNeedsReplacing(2)
APC_HP_CAPACITY = oid("1.3.6.1.4.1.318.1.1.1.2.3.1.0")        # tenths of %
APC_OUTPUT_STATUS = oid("1.3.6.1.4.1.318.1.1.1.4.1.1.0")
APC_LOAD = oid("1.3.6.1.4.1.318.1.1.1.4.2.3.0")               # %
APC_HP_LOAD = oid("1.3.6.1.4.1.318.1.1.1.4.3.3.0")            # tenths of %
APC_BATTERY_STATUS_NAMES = {1: "unknown", 2: "normal", 3: "low", 4: "fault", 5: "missing"}
# upsBasicOutputStatus -> the output source vocabulary of UPS-MIB upsOutputSource
APC_OUTPUT_SOURCE = {1: "other", 2: "normal", 3: "battery", 4: "booster", 5: "none", 6: "bypass", 7: "none",
                     8: "other", 9: "bypass", 10: "bypass", 11: "none", 12: "reducer", 13: "eco",
                     14: "other", 15: "battery", 16: "bypass"}

# --- Eaton XUPS-MIB 1.3.6.1.4.1.534.1 (scalars; read in the compiled XUPS-MIB, DotZero24/pysnmp-mibs) --
XUPS_MODEL = oid("1.3.6.1.4.1.534.1.1.2.0")
XUPS_TIME_REMAINING = oid("1.3.6.1.4.1.534.1.2.1.0")          # seconds
XUPS_CAPACITY = oid("1.3.6.1.4.1.534.1.2.4.0")                # %
XUPS_ABM_STATUS = oid("1.3.6.1.4.1.534.1.2.5.0")
XUPS_OUTPUT_LOAD = oid("1.3.6.1.4.1.534.1.4.1.0")             # %
XUPS_OUTPUT_SOURCE = oid("1.3.6.1.4.1.534.1.4.5.0")
XUPS_ALARMS = oid("1.3.6.1.4.1.534.1.7.1.0")                  # Gauge32 count
XUPS_ABM_NAMES = {1: "charging", 2: "discharging", 3: "floating", 4: "resting", 5: "unknown",
                  6: "disconnected", 7: "underTest", 8: "check"}
XUPS_OUTPUT_SOURCE_NAMES = {1: "other", 2: "none", 3: "normal", 4: "bypass", 5: "battery", 6: "booster",
                            7: "reducer", 8: "normal", 9: "normal", 10: "eco", 11: "bypass", 12: "eco"}

UPS_SCALARS = [UPS_IDENT_MANUFACTURER, UPS_IDENT_MODEL, UPS_BATTERY_STATUS, UPS_SECONDS_ON_BATTERY,
               UPS_MINUTES_REMAINING, UPS_CHARGE_REMAINING, UPS_OUTPUT_SOURCE, UPS_ALARMS_PRESENT,
               APC_MODEL, APC_BATTERY_STATUS, APC_TIME_ON_BATTERY, APC_CAPACITY, APC_RUNTIME, APC_REPLACE,
               APC_HP_CAPACITY, APC_OUTPUT_STATUS, APC_LOAD, APC_HP_LOAD,
               XUPS_MODEL, XUPS_TIME_REMAINING, XUPS_CAPACITY, XUPS_ABM_STATUS, XUPS_OUTPUT_LOAD,
               XUPS_OUTPUT_SOURCE, XUPS_ALARMS]

# --- What a poll walks: named groups of columns of ONE table entry, walked together (same rows, so they
# end together; the first column tells whether the agent has the table at all) ---------------------------
# Input errors (damaged frames arriving) and output discards (congestion drops): the two counters that
# mean lost voice packets on a full-duplex Ethernet port.
COUNTER_COLUMNS = [IF_IN_ERRORS, IF_OUT_DISCARDS]
SWITCH_TABLES: dict[str, list[OID]] = {
    "ifTable": [IF_DESCR, IF_TYPE, IF_SPEED, IF_OPER_STATUS] + COUNTER_COLUMNS,
    "ifXTable": [IF_NAME, IF_HIGH_SPEED],
    "EtherLike-MIB": [DOT3_DUPLEX],
    "BRIDGE-MIB": [BASE_PORT_IFINDEX],
    "Q-BRIDGE static VLANs": [Q_STATIC_NAME, Q_STATIC_EGRESS, Q_STATIC_UNTAGGED],
    "Q-BRIDGE current VLANs": [Q_CURRENT_EGRESS, Q_CURRENT_UNTAGGED],
    "Q-BRIDGE PVIDs": [Q_PVID],
    "CISCO-VTP-MIB": [VTP_VLAN_STATE, VTP_VLAN_NAME],
    "CISCO-VLAN-MEMBERSHIP-MIB": [VM_VLAN],
    "CISCO-VLAN-MEMBERSHIP-MIB voice VLANs": [VM_VOICE_VLAN],
    "POWER-ETHERNET-MIB ports": [PETH_PORT_ADMIN, PETH_PORT_DETECTION, PETH_PORT_CLASS],
    "POWER-ETHERNET-MIB main PSE": [PETH_MAIN_POWER, PETH_MAIN_OPER, PETH_MAIN_CONSUMPTION, PETH_MAIN_THRESHOLD],
    "CISCO-POWER-ETHERNET-EXT-MIB ports": [CPE_PORT_CONSUMPTION],
    "CISCO-POWER-ETHERNET-EXT-MIB main PSE": [CPE_MAIN_USED, CPE_MAIN_REMAINING],
    "LLDP-MIB remote systems": [LLDP_REM_CHASSIS_ID, LLDP_REM_PORT_ID, LLDP_REM_SYS_NAME, LLDP_REM_CAP_ENABLED],
    "LLDP-EXT-MED-MIB port capabilities": [MED_PORT_CAP_SUPPORTED],   # first row only, see PROBE_ONLY
    "LLDP-EXT-MED-MIB media policy": [MED_LOC_POLICY_VLAN, MED_LOC_POLICY_PRIORITY, MED_LOC_POLICY_DSCP,
                                      MED_LOC_POLICY_UNKNOWN, MED_LOC_POLICY_TAGGED],
    "LLDP-EXT-MED-MIB remote class": [MED_REM_DEVICE_CLASS],
}
# Tables read in two steps: walk the first column (it reveals the rows), then GET the other columns of
# the rows the audit needs only - here the voice rows of the media policy table (not voice signalling,
# video ...), which halves what a switch with several policies per port sends. Rows are chosen in poll.py.
KEY_COLUMN_ONLY = {"LLDP-EXT-MED-MIB media policy"}
# Tables whose first row (from the GETNEXT that finds which tables exist) is all the audit needs.
PROBE_ONLY = {"LLDP-EXT-MED-MIB port capabilities"}
# Expected rows of a table, from a size scalar: the last GETBULK then asks for no more than needed.
TABLE_SIZE = {"ifTable": IF_NUMBER, "ifXTable": IF_NUMBER, "EtherLike-MIB": IF_NUMBER, "BRIDGE-MIB": BASE_NUM_PORTS,
              "Q-BRIDGE PVIDs": BASE_NUM_PORTS, "CISCO-VLAN-MEMBERSHIP-MIB": IF_NUMBER,
              "CISCO-VLAN-MEMBERSHIP-MIB voice VLANs": IF_NUMBER}
# Expected rows without a size scalar: one PSE per switch (one per stack member). A wrong guess costs at
# most one more request: once past the hint, walks ask for full answers.
TYPICAL_ROWS = {"POWER-ETHERNET-MIB main PSE": 1, "CISCO-POWER-ETHERNET-EXT-MIB main PSE": 1}
UPS_TABLES: dict[str, list[OID]] = {
    "UPS-MIB output lines": [UPS_OUTPUT_PERCENT_LOAD],
    "UPS-MIB alarms": [UPS_ALARM_DESCR],
}
# The after-traffic poll only needs the counters (and names, to report them by port).
COUNTER_TABLES: dict[str, list[OID]] = {
    "ifTable": [IF_DESCR, IF_TYPE, IF_OPER_STATUS] + COUNTER_COLUMNS,
    "ifXTable": [IF_NAME],
}
