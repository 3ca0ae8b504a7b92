"""Drives a supervisord-compatible server through Python's own xmlrpc.client, the way
exporters and dashboards do, calling every method of supervisord's XML-RPC interface
(faults included) and printing one JSON object per call: {"call": LABEL, "value": V}.

Values are normalised so that two servers running the same programs print the same lines:
pids, times and uptimes become placeholders, file paths become "PATH", and a fault becomes
{"fault": CODE, "text": FAULT_STRING}.

Usage: python xmlrpc_probe.py (--url http://u:p@127.0.0.1:PORT/RPC2 | --unix PATH)
                              [--short] [--password-check URL]

The program set it expects (the same on both servers): `web` (running), `idle`
(autostart=false, stopped), `talker` (printed "hello\\nworld\\n", runs), and the group
`pool` of `a` and `b` (running). --short calls only a few read-only methods (for the
second transport).
"""

import argparse
import json
import re
import sys
import time
import xmlrpc.client

from supervisor.xmlrpc import SupervisorTransport

DEADLINE = 20.0


def normalise(value, key=None):
    if isinstance(value, dict):
        return {k: normalise(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if key == "pid":
        return "PID" if value else 0
    if key in ("start", "stop", "now"):
        return "TIME" if value else 0
    if key in ("logfile", "stdout_logfile", "stderr_logfile"):
        return "PATH" if value else ""
    if key == "description" and isinstance(value, str):
        value = re.sub(r"pid \d+, uptime \d+:\d\d:\d\d", "pid PID, uptime H:MM:SS", value)
        return re.sub(r"[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M", "DATE", value)
    return value


class Probe:
    def __init__(self, proxy):
        self.proxy = proxy

    def emit(self, label, value):
        print(json.dumps({"call": label, "value": value}, sort_keys=True), flush=True)

    def call(self, label, fn, shape=None):
        """Calls fn(), printing its normalised result (or `shape(result)`) or its fault."""
        try:
            result = fn()
        except xmlrpc.client.Fault as fault:
            self.emit(label, {"fault": fault.faultCode, "text": fault.faultString})
            return None
        except xmlrpc.client.ProtocolError as err:
            self.emit(label, {"protocol_error": err.errcode})
            return None
        except Exception as err:  # the connection itself failed: say how
            self.emit(label, {"error": type(err).__name__, "text": str(err)})
            return None
        self.emit(label, shape(result) if shape else normalise(result))
        return result

    def wait_for(self, what, fn):
        """Polls fn() until it returns a true value, or gives up after DEADLINE (saying so)."""
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end:
            try:
                if fn():
                    return True
            except Exception:
                pass
            time.sleep(0.05)
        self.emit("wait " + what, "timed out")
        return False


def unordered(results):
    """Results of a call on several processes, sorted: supervisord acts on processes of equal
    priority in the order of a Python dict, which changes from run to run."""
    if not isinstance(results, list):
        return normalise(results)
    return sorted(normalise(results), key=lambda r: (r.get("group", ""), r.get("name", "")))


def kind(value):
    return type(value).__name__


def dotted(value):
    """"dotted" for a dotted version number, with or without a PEP 440 local part
    ("4.3.0+supd.0.1.0": what a parser of supervisord's version still reads as 4.3.0)."""
    return "dotted" if re.fullmatch(r"\d+(\.\d+)+(\+[0-9A-Za-z.]+)?", str(value)) else value


def process_fields(infos):
    return sorted({k for info in infos for k in info}) if infos else []


def config_summary(infos):
    return [
        {"name": i.get("name"), "group": i.get("group"), "autostart": i.get("autostart"),
         "inuse": i.get("inuse"), "fields": sorted(i)}
        for i in infos
    ]


def full(p):
    s = p.proxy.supervisor
    system = p.proxy.system
    # Identity of the server.
    p.call("getAPIVersion", lambda: s.getAPIVersion())
    p.call("getVersion", lambda: s.getVersion())
    p.call("getSupervisorVersion", lambda: s.getSupervisorVersion(), dotted)
    p.call("getIdentification", lambda: s.getIdentification())
    p.call("getState", lambda: s.getState())
    p.call("getPID", lambda: s.getPID(), lambda pid: "PID" if isinstance(pid, int) and pid > 0 else pid)
    p.call("readLog(0, 0) type", lambda: s.readLog(0, 0), kind)
    p.call("readLog(-1, 5)", lambda: s.readLog(-1, 5))
    p.call("clearLog", lambda: s.clearLog())

    # Process information.
    p.call("getAllProcessInfo fields", lambda: s.getAllProcessInfo(), process_fields)
    p.call("getAllProcessInfo", lambda: s.getAllProcessInfo())
    p.call("getProcessInfo web", lambda: s.getProcessInfo("web"))
    p.call("getProcessInfo web:web", lambda: s.getProcessInfo("web:web"))
    p.call("getProcessInfo pool:a", lambda: s.getProcessInfo("pool:a"))
    p.call("getProcessInfo idle", lambda: s.getProcessInfo("idle"))
    p.call("getProcessInfo nope", lambda: s.getProcessInfo("nope"))
    p.call("getProcessInfo pool:*", lambda: s.getProcessInfo("pool:*"))
    p.call("getProcessInfo no arguments", lambda: s.getProcessInfo())
    p.call("getProcessInfo two arguments", lambda: s.getProcessInfo("web", "web"))
    p.call("getAllConfigInfo", lambda: s.getAllConfigInfo(), config_summary)

    # Starting and stopping one process.
    p.call("startProcess idle", lambda: s.startProcess("idle", True))
    p.call("getProcessInfo idle started", lambda: s.getProcessInfo("idle")["statename"])
    p.call("startProcess idle again", lambda: s.startProcess("idle"))
    p.call("stopProcess idle", lambda: s.stopProcess("idle", True))
    p.call("stopProcess idle again", lambda: s.stopProcess("idle"))
    p.call("getProcessInfo idle stopped", lambda: s.getProcessInfo("idle")["statename"])
    p.call("startProcess nope", lambda: s.startProcess("nope"))
    p.call("stopProcess nope", lambda: s.stopProcess("nope"))
    p.call("startProcess pool:* running", lambda: s.startProcess("pool:*"), unordered)

    # Groups.
    p.call("stopProcessGroup pool", lambda: s.stopProcessGroup("pool", True), unordered)
    p.call("stopProcessGroup pool again", lambda: s.stopProcessGroup("pool"), unordered)
    p.call("startProcessGroup pool", lambda: s.startProcessGroup("pool", True), unordered)
    p.call("startProcessGroup pool again", lambda: s.startProcessGroup("pool"), unordered)
    p.call("stopProcess pool:*", lambda: s.stopProcess("pool:*"), unordered)
    p.call("startProcess pool:*", lambda: s.startProcess("pool:*", True), unordered)
    p.call("stopProcess pool:a", lambda: s.stopProcess("pool:a"))
    p.call("startProcess pool:a", lambda: s.startProcess("pool:a"))
    p.call("stopProcessGroup nope", lambda: s.stopProcessGroup("nope"))
    p.call("startProcessGroup nope", lambda: s.startProcessGroup("nope"))

    # Signals (CONT: harmless to sleep).
    p.call("signalProcess web CONT", lambda: s.signalProcess("web", "CONT"))
    p.call("signalProcess web 18", lambda: s.signalProcess("web", "18"))
    p.call("signalProcess idle CONT", lambda: s.signalProcess("idle", "CONT"))
    p.call("signalProcess web NOPE", lambda: s.signalProcess("web", "NOPE"))
    p.call("signalProcess nope CONT", lambda: s.signalProcess("nope", "CONT"))
    p.call("signalProcess pool:* CONT", lambda: s.signalProcess("pool:*", "CONT"), unordered)
    p.call("signalProcessGroup pool CONT", lambda: s.signalProcessGroup("pool", "CONT"), unordered)
    p.call("signalProcessGroup nope CONT", lambda: s.signalProcessGroup("nope", "CONT"))
    p.call("signalAllProcesses CONT", lambda: s.signalAllProcesses("CONT"), unordered)

    # Standard input.
    p.call("sendProcessStdin web", lambda: s.sendProcessStdin("web", "hi\n"))
    p.call("sendProcessStdin idle", lambda: s.sendProcessStdin("idle", "hi\n"))
    p.call("sendProcessStdin nope", lambda: s.sendProcessStdin("nope", "hi\n"))

    # Program logs.
    p.wait_for("talker's two lines in its stdout log",
               lambda: s.readProcessStdoutLog("talker", 0, 100) == "hello\nworld\n")
    p.call("readProcessStdoutLog talker 0 100", lambda: s.readProcessStdoutLog("talker", 0, 100))
    p.call("readProcessStdoutLog talker 0 0", lambda: s.readProcessStdoutLog("talker", 0, 0))
    p.call("readProcessStdoutLog talker 6 0", lambda: s.readProcessStdoutLog("talker", 6, 0))
    p.call("readProcessStdoutLog talker -6 0", lambda: s.readProcessStdoutLog("talker", -6, 0))
    p.call("readProcessStdoutLog talker 2 3", lambda: s.readProcessStdoutLog("talker", 2, 3))
    p.call("readProcessStdoutLog talker -1 5", lambda: s.readProcessStdoutLog("talker", -1, 5))
    p.call("readProcessStdoutLog talker:talker 0 100",
           lambda: s.readProcessStdoutLog("talker:talker", 0, 100))
    p.call("readProcessStderrLog talker 0 100", lambda: s.readProcessStderrLog("talker", 0, 100))
    p.call("readProcessStdoutLog nope", lambda: s.readProcessStdoutLog("nope", 0, 100))
    p.call("tailProcessStdoutLog talker 0 100", lambda: s.tailProcessStdoutLog("talker", 0, 100))
    p.call("tailProcessStdoutLog talker 0 3", lambda: s.tailProcessStdoutLog("talker", 0, 3))
    p.call("tailProcessStdoutLog talker 12 100", lambda: s.tailProcessStdoutLog("talker", 12, 100))
    p.call("tailProcessStderrLog talker 0 100", lambda: s.tailProcessStderrLog("talker", 0, 100))
    p.call("tailProcessStdoutLog nope", lambda: s.tailProcessStdoutLog("nope", 0, 100))
    p.call("clearProcessLogs talker", lambda: s.clearProcessLogs("talker"))
    p.call("readProcessStdoutLog talker cleared", lambda: s.readProcessStdoutLog("talker", 0, 100))
    p.call("clearProcessLogs nope", lambda: s.clearProcessLogs("nope"))
    p.call("clearAllProcessLogs", lambda: s.clearAllProcessLogs(), unordered)

    # Introspection.
    p.call("system.listMethods", lambda: sorted(system.listMethods()))
    p.call("system.methodHelp supervisor.getState type", lambda: system.methodHelp("supervisor.getState"), kind)
    p.call("system.methodSignature supervisor.getState", lambda: system.methodSignature("supervisor.getState"))
    p.call("system.methodHelp nope", lambda: system.methodHelp("supervisor.nope"))
    p.call("system.multicall", lambda: system.multicall([
        {"methodName": "supervisor.getAPIVersion", "params": []},
        {"methodName": "supervisor.getProcessInfo", "params": ["nope"]},
        {"methodName": "supervisor.nope", "params": []},
        {"methodName": "supervisor.getProcessInfo", "params": ["web"]},
    ]))
    p.call("unknown method supervisor.nope", lambda: s.nope())
    p.call("unknown method nope", lambda: p.proxy.nope())

    # Configuration and groups.
    p.call("reloadConfig", lambda: s.reloadConfig())
    p.call("addProcessGroup pool", lambda: s.addProcessGroup("pool"))
    p.call("removeProcessGroup pool running", lambda: s.removeProcessGroup("pool"))
    p.call("stopProcessGroup pool before removing", lambda: s.stopProcessGroup("pool"), unordered)
    p.call("removeProcessGroup pool", lambda: s.removeProcessGroup("pool"))
    p.call("getProcessInfo pool:a removed", lambda: s.getProcessInfo("pool:a"))
    p.call("removeProcessGroup nope", lambda: s.removeProcessGroup("nope"))
    p.call("reloadConfig pool removed", lambda: s.reloadConfig())
    p.call("addProcessGroup pool back", lambda: s.addProcessGroup("pool"))
    p.call("addProcessGroup nope", lambda: s.addProcessGroup("nope"))
    # Whatever happened above, pool runs again from here on (so that one difference does
    # not make every later call differ too); not printed.
    try:
        s.startProcessGroup("pool")
    except Exception:
        pass
    p.wait_for("pool:a to run again after addProcessGroup",
               lambda: s.getProcessInfo("pool:a")["statename"] == "RUNNING")

    # Everything at once.
    p.call("stopAllProcesses", lambda: s.stopAllProcesses(), unordered)
    p.call("getAllProcessInfo all stopped", lambda: [i["statename"] for i in s.getAllProcessInfo()])
    p.call("startAllProcesses", lambda: s.startAllProcesses(), unordered)
    p.call("getAllProcessInfo all started", lambda: [i["statename"] for i in s.getAllProcessInfo()])

    # The daemon itself.
    p.call("restart", lambda: s.restart())
    p.wait_for("the server to be RUNNING after restart",
               lambda: s.getState()["statename"] == "RUNNING"
               and s.getProcessInfo("web")["statename"] == "RUNNING")
    p.call("getState after restart", lambda: s.getState())
    p.call("shutdown", lambda: s.shutdown())


def short(p):
    s = p.proxy.supervisor
    p.call("getAPIVersion", lambda: s.getAPIVersion())
    p.call("getState", lambda: s.getState())
    p.call("getAllProcessInfo", lambda: s.getAllProcessInfo())
    p.call("getProcessInfo nope", lambda: s.getProcessInfo("nope"))


def main():
    parser = argparse.ArgumentParser()
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url")
    where.add_argument("--unix")
    parser.add_argument("--short", action="store_true")
    parser.add_argument("--password-check", metavar="URL",
                        help="also call getState at URL (wrong credentials) and print the answer")
    args = parser.parse_args()
    if args.url:
        proxy = xmlrpc.client.ServerProxy(args.url)
    else:
        transport = SupervisorTransport(None, None, "unix://" + args.unix)
        proxy = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)
    probe = Probe(proxy)
    if args.password_check:
        wrong = xmlrpc.client.ServerProxy(args.password_check)
        probe.call("getState with wrong credentials", lambda: wrong.supervisor.getState())
    (short if args.short else full)(probe)
    return 0


if __name__ == "__main__":
    sys.exit(main())
