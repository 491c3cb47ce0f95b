# shellcheck shell=bash
# shellcheck disable=SC2034 # HOTSPOT_ATTACH_PY, ATTACH_PY_BIN and ATTACH_UNSAFE_WHY are read by the including probe
# runbook-autopilot: HotSpot's dynamic attach, without starting a JVM (docs/contracts.md, "The attach").
#
# `jcmd PID CMD` starts a JVM of its own (~150 ms of start and ~300 ms of CPU on a small host) only to
# speak a short protocol over the target's UNIX socket. This file speaks it directly, in python3 with
# -I -S (isolated: no PYTHON* variable, no user site, no script folder on sys.path), run as the JVM's
# user like jcmd, from a root-owned interpreter nobody else can write (the probe checks its path):
#
# 1. the listener's socket is /proc/PID/root/tmp/.java_pid<NSPID> (HotSpot's Linux temp folder is always
#    /tmp; through /proc/PID/root it is the target's own /tmp in a container or with PrivateTmp);
# 2. when there is none, `.attach_pid<NSPID>` is created in the target's working folder (else its /tmp),
#    owned by the JVM's user as HotSpot requires, and the JVM gets one SIGQUIT: it starts the listener
#    instead of printing a thread dump. Only to the process diagnosed (its start time is checked just
#    before), and only when it catches SIGQUIT (/proc/PID/status SigCgt): to a JVM started with -Xrs, or
#    to anything else, SIGQUIT's default action ends the process. The trigger file is removed afterwards;
# 3. the socket must be a socket owned by the client's own user and open to nobody else (what jcmd checks),
#    and its listener, as the kernel names it (SO_PEERCRED), must be the target PID (jcmd does not check);
# 4. each command is one connection: "1" NUL "jcmd" NUL <the diagnostic command> NUL NUL NUL; the answer
#    is a status line (0 = done) and the command's output until the JVM closes the connection.
#
# Arguments: PID STARTTIME (field 22 of /proc/PID/stat, as the probe read it) LISTEN_TIMEOUT_MS. The
# commands come on stdin, one a line (e.g. Thread.print, GC.class_histogram), each sent when it arrives:
# the caller can hold a command back (the probe sends the histogram after its second heap sample).
# Output: each command's output, in order, on stdout. Exit: 0 all done; 124 the listener did not start
# within LISTEN_TIMEOUT_MS (what `timeout` gives, so the probe's reasons read the same); 1 anything else,
# with one line on stderr saying what.
# The code is a single-quoted string with no blank or comment-only line (nor a single quote): the SSM
# document drops such lines from the script (lib/document-script.ts), and the code must arrive as written.
# Inside it: the trigger file is opened without following a symlink and without blocking on a FIFO planted
# under its name, and must come out a regular file owned by the client's user (else it is removed and /tmp
# is tried); a listener whose SO_PEERCRED PID is not the target's is refused before a byte is sent, since
# a name under the target's /tmp can lead elsewhere (a symlink there resolves against the client's root).
HOTSPOT_ATTACH_PY='import os, signal, socket, stat, struct, sys, time
def fail(code, msg):
    sys.stderr.write("direct attach: " + msg + "\n")
    sys.exit(code)
def status_fields(proc):
    out = {}
    with open(proc + "/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            out[key] = value.split()
    return out
def start_time(proc):
    with open(proc + "/stat") as f:
        text = f.read()
    return text[text.rindex(")") + 2:].split()[19]
def is_listener(path):
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISSOCK(st.st_mode)
def main():
    if len(sys.argv) != 4 or not sys.argv[1].isdigit() or not sys.argv[2].isdigit() or not sys.argv[3].isdigit():
        fail(1, "usage: PID STARTTIME LISTEN_TIMEOUT_MS")
    pid, start, timeout_s = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]) / 1000.0
    proc = "/proc/%d" % pid
    try:
        fields = status_fields(proc)
        if start_time(proc) != start:
            fail(1, "pid %d is not the process diagnosed any more (its start time changed)" % pid)
    except OSError as e:
        fail(1, "pid %d cannot be read (%s): gone?" % (pid, e.strerror))
    nspid = (fields.get("NSpid") or [str(pid)])[-1]
    tmp = proc + "/root/tmp"
    sock_path = "%s/.java_pid%s" % (tmp, nspid)
    if not is_listener(sock_path):
        caught = int((fields.get("SigCgt") or ["0"])[0], 16)
        if not caught & (1 << (signal.SIGQUIT - 1)):
            fail(1, "pid %d does not catch SIGQUIT (-Xrs?): not signalled, SIGQUIT would end it" % pid)
        trigger = None
        why = "not created"
        for folder in (proc + "/cwd", tmp):
            path = "%s/.attach_pid%s" % (folder, nspid)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
            except OSError as e:
                why = e.strerror or str(e)
                continue
            st = os.fstat(fd)
            os.close(fd)
            if st.st_uid == os.geteuid() and stat.S_ISREG(st.st_mode):
                trigger = path
                break
            why = "owned by uid %d, not a regular file of uid %d" % (st.st_uid, os.geteuid())
            try:
                os.unlink(path)
            except OSError:
                pass
        if trigger is None:
            fail(1, "cannot create .attach_pid%s in the working folder or /tmp of pid %d as uid %d: %s" % (nspid, pid, os.geteuid(), why))
        try:
            if start_time(proc) != start:
                fail(1, "pid %d is not the process diagnosed any more (its start time changed)" % pid)
            os.kill(pid, signal.SIGQUIT)
            deadline = time.monotonic() + timeout_s
            while not is_listener(sock_path):
                if time.monotonic() >= deadline:
                    sys.stderr.write("direct attach: the JVM did not start its attach listener within %d ms\n" % (timeout_s * 1000))
                    sys.exit(124)
                time.sleep(0.01)
        finally:
            try:
                os.unlink(trigger)
            except OSError:
                pass
    st = os.lstat(sock_path)
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        fail(1, "refused: %s is owned by uid %d with mode %o; expected uid %d and no access for others" % (sock_path, st.st_uid, stat.S_IMODE(st.st_mode), os.geteuid()))
    out = sys.stdout.buffer
    for line in sys.stdin:
        command = line.strip()
        if not command:
            continue
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(sock_path)
            peer = struct.unpack("3i", s.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))[0]
            if peer != pid:
                fail(1, "refused: %s is served by pid %d, not by pid %d" % (sock_path, peer, pid))
            s.sendall(b"1\0jcmd\0" + command.encode("ascii") + b"\0\0\0")
            head = b""
            while b"\n" not in head:
                chunk = s.recv(4096)
                if not chunk:
                    break
                head += chunk
            code, _, rest = head.partition(b"\n")
            if code.strip() != b"0":
                tail = rest + s.recv(4096)
                fail(1, "the JVM answered %s to %s: %s" % (code.strip().decode("ascii", "replace")[:20] or "nothing", command, tail.decode("utf-8", "replace").strip().splitlines()[0][:200] if tail.strip() else "no message"))
            out.write(rest)
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out.write(chunk)
            out.flush()
        except OSError as e:
            fail(1, "%s over %s: %s" % (command, sock_path, e.strerror or e))
        finally:
            s.close()
main()
'

# hotspot_attach_client: sets ATTACH_PY_BIN to a python3 the probe may run (root-owned, on a path nobody
# else can write, symlinks resolved: untrusted_reason), or ATTACH_PY_WHY and returns 1. Fixed locations
# only, never PATH: the first python3 on PATH can be a shim or a virtualenv.
ATTACH_PY_BIN=""
ATTACH_PY_WHY=""
ATTACH_PY_CANDIDATES=(/usr/bin/python3 /usr/libexec/platform-python)
hotspot_attach_client() {
  local c why
  for c in "${ATTACH_PY_CANDIDATES[@]}"; do
    [[ -x $c ]] || continue
    why=$(untrusted_reason "$c")
    if [[ $why == resolved:* ]]; then
      ATTACH_PY_BIN=${why#resolved:}
      return 0
    fi
    ATTACH_PY_WHY+="${ATTACH_PY_WHY:+; }$c: $why"
  done
  ATTACH_PY_WHY="no python3 for the direct attach${ATTACH_PY_WHY:+ ($ATTACH_PY_WHY)}"
  return 1
}

# hotspot_attach_safe PID: 0 when attaching cannot harm PID: its listener is up (the socket exists), or
# it catches SIGQUIT. Else sets ATTACH_UNSAFE_WHY: the SIGQUIT that starts the listener would end it.
ATTACH_UNSAFE_WHY=""
hotspot_attach_safe() {
  local k v ns=$1 caught=""
  while read -r k v; do
    case $k in
      NSpid:) ns=${v##*[[:space:]]} ;;
      SigCgt:) caught=$v ;;
    esac
  done <"/proc/$1/status" 2>/dev/null
  [[ -S /proc/$1/root/tmp/.java_pid$ns ]] && return 0
  [[ $caught =~ ^[0-9a-fA-F]+$ ]] && ((${#caught} <= 16 && (16#$caught & 4) != 0)) && return 0
  ATTACH_UNSAFE_WHY="pid $1 does not catch SIGQUIT (started with -Xrs?) and has no attach listener yet: the SIGQUIT that starts one would end it"
  return 1
}
