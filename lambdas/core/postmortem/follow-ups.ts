import type { FailureClassId } from "../diagnosis/schema.js";
import type { FollowUp } from "./schema.js";

/**
 * The follow-up catalogue: per failure class, what to change so it does not happen again.
 * Plain data, chosen by class id. `{placeholders}` are filled from the record's facts
 * (see `FollowUpFacts`); templates only format the result.
 */
export type FollowUpTemplate = Omit<FollowUp, "owner">;

export interface ClassCatalogueEntry {
  readonly title: string;
  /** SRE "Trigger": what typically sets this class off. */
  readonly trigger: string;
  /** One lesson worth keeping from this class of incident. */
  readonly lesson: string;
  readonly followUps: readonly FollowUpTemplate[];
}

/** Facts the placeholders may use; each always has a value (a fallback sentence when unknown). */
export interface FollowUpFacts {
  readonly port: string;
  readonly openFds: string;
  readonly fdLimit: string;
  readonly tomcatVersion: string;
  readonly tomcatAdvice: string;
  readonly topFiles: string;
  readonly retainingClass: string;
  readonly busyThreads: string;
  readonly requestPool: string;
}

/** Tomcat releases with the fixes for Bugzilla 64848 (WsSession leak when the peer vanishes). */
export const TOMCAT_64848_FIXED_IN: readonly { readonly branch: string; readonly fixedIn: string }[] = [
  { branch: "8.5", fixedIn: "8.5.60" },
  { branch: "9.0", fixedIn: "9.0.40" },
  { branch: "10.0", fixedIn: "10.0.0-M10" },
];

const NGINX_WEBSOCKET_SNIPPET = `location /ws/ {
    proxy_pass http://tomcat_backend;
    proxy_http_version 1.1;
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection "upgrade";
    # Close a WebSocket that has been silent for 5 minutes (nginx default: 60s).
    proxy_read_timeout 300s;
    proxy_send_timeout 300s;
}`;

const JSR356_IDLE_SNIPPET = `// JSR-356 (plain Tomcat): per session, in @OnOpen
session.setMaxIdleTimeout(300_000); // ms; 0 (Tomcat's default) = never time out

// or for every session of the container, at startup
ServerContainer container =
    (ServerContainer) servletContext.getAttribute("jakarta.websocket.server.ServerContainer");
container.setDefaultMaxSessionIdleTimeout(300_000);

// Spring Boot
@Bean
ServletServerContainerFactoryBean webSocketContainer() {
  ServletServerContainerFactoryBean bean = new ServletServerContainerFactoryBean();
  bean.setMaxSessionIdleTimeout(300_000L);
  return bean;
}`;

const CLOSE_ON_ERROR_SNIPPET = `@OnError
public void onError(Session session, Throwable error) {
  log.warn("websocket transport error, closing {}", session.getId(), error);
  try {
    session.close(new CloseReason(CloseReason.CloseCodes.UNEXPECTED_CONDITION, "transport error"));
  } catch (IOException ignored) {
    // the socket is already gone; close() still releases the session
  }
}
// Spring: in WebSocketHandler.handleTransportError(...) call session.close(CloseStatus.SERVER_ERROR)`;

const PING_SNIPPET = `// every 30 s, for each open session: a dead peer turns into an IOException -> onError -> close
scheduler.scheduleAtFixedRate(() -> sessions.forEach(s -> {
  try { s.getBasicRemote().sendPing(ByteBuffer.allocate(0)); }
  catch (IOException e) { closeQuietly(s); }
}), 30, 30, TimeUnit.SECONDS);`;

const SYSTEMD_NOFILE_SNIPPET = `# /etc/systemd/system/tomcat.service.d/nofile.conf  (stopgap only)
[Service]
LimitNOFILE=65536`;

const FD_ALARM: FollowUpTemplate = {
  id: "alarm-on-fd-usage",
  title: "Alarm on open file descriptors before they run out",
  priority: "P1",
  kind: "detect",
  text:
    "Publish the JVM's open fds and its limit (CloudWatch agent `procstat` `num_fds`, or a cron running " +
    "`ls /proc/$PID/fd | wc -l`) and alarm at 80% of the soft limit (limit here: {fdLimit}), " +
    "so the next leak pages someone hours before the API stops accepting connections.",
  snippet: null,
};

const RAISE_NOFILE_STOPGAP: FollowUpTemplate = {
  id: "raise-limitnofile-stopgap",
  title: "Raise LimitNOFILE, as a stopgap only",
  priority: "P3",
  kind: "mitigate",
  text:
    "The soft limit was {fdLimit}. Raising `LimitNOFILE` buys time between restarts; it does not fix a leak, " +
    "it only moves the cliff. Do it together with the fix, never instead of it.",
  snippet: { language: "ini", code: SYSTEMD_NOFILE_SNIPPET },
};

export const FOLLOW_UP_CATALOGUE: Readonly<Record<FailureClassId, ClassCatalogueEntry>> = {
  "websocket-session-leak": {
    title: "WebSocket sessions of vanished clients held open until the fd limit",
    trigger:
      "Clients that vanish without a close frame (mobile networks, laptops sleeping, NAT or proxy timeouts) leave " +
      "their upgraded connections ESTABLISHED on the server. With no idle timeout anywhere on the path, each one " +
      "keeps a socket, a file descriptor and a WsSession until the process reaches its open-files limit; then " +
      "Tomcat can no longer accept connections while CPU stays low and thread dumps look normal.",
    lesson:
      "Low CPU and a normal thread dump do not mean healthy: a Tomcat out of file descriptors accepts nothing while " +
      "its threads idle. Count sockets by state and open fds against the limit first.",
    followUps: [
      {
        id: "websocket-idle-timeout",
        title: "Set a WebSocket idle timeout in the application",
        priority: "P1",
        kind: "prevent",
        text:
          "Tomcat's `maxIdleTimeout` defaults to none (0): it never times out an idle upgraded connection. " +
          "Set one: JSR-356 `session.setMaxIdleTimeout(...)` or `container.setDefaultMaxSessionIdleTimeout(...)`; " +
          "in Spring, `ServletServerContainerFactoryBean.setMaxSessionIdleTimeout(...)`. Pick a value above the " +
          "clients' heartbeat interval (5 minutes below).",
        snippet: { language: "java", code: JSR356_IDLE_SNIPPET },
      },
      {
        id: "close-session-on-transport-error",
        title: "Close the native session on transport errors",
        priority: "P1",
        kind: "prevent",
        text:
          "Handlers that log a transport error and return leave the session registered. In `@OnError` " +
          "(Spring: `handleTransportError`) close the session so Tomcat releases the socket and the WsSession.",
        snippet: { language: "java", code: CLOSE_ON_ERROR_SNIPPET },
      },
      {
        id: "upgrade-tomcat-64848",
        title: "Upgrade Tomcat if it predates the Bugzilla 64848 fixes",
        priority: "P2",
        kind: "prevent",
        text:
          "Bugzilla 64848 (WsSession objects not released when the peer goes away) is fixed in 8.5.60, 9.0.40 and " +
          "10.0.0-M10. {tomcatAdvice}",
        snippet: null,
      },
      {
        id: "idle-timeout-in-front",
        title: "Put an idle timeout in front of the WebSocket endpoint",
        priority: "P1",
        kind: "mitigate",
        text:
          "A proxy in front closes silent connections even when the application does not. nginx: proxy the " +
          "Upgrade/Connection headers and set `proxy_read_timeout` (below). An ALB closes idle connections after " +
          "its idle timeout (default 60 s, attribute `idle_timeout.timeout_seconds`); keep it, and keep client " +
          "heartbeats shorter than it.",
        snippet: { language: "nginx", code: NGINX_WEBSOCKET_SNIPPET },
      },
      {
        id: "server-pings",
        title: "Send pings from the server",
        priority: "P2",
        kind: "prevent",
        text:
          "A ping to a vanished client fails within a few retransmissions, turning a silent dead connection into an " +
          "error the handler closes. Spring STOMP/SockJS: enable heartbeats (`setHeartbeatValue`, SockJS " +
          "`setHeartbeatTime`).",
        snippet: { language: "java", code: PING_SNIPPET },
      },
      RAISE_NOFILE_STOPGAP,
      {
        ...FD_ALARM,
        text: `${FD_ALARM.text} Alarm on ESTABLISHED connections to port {port} as well: here they tracked the fd count one for one.`,
      },
    ],
  },
  "fd-exhaustion": {
    title: "The process ran out of file descriptors",
    trigger:
      "Something opened file descriptors faster than it closed them until the process reached its open-files " +
      "limit; new connections and file opens then fail with `Too many open files`.",
    lesson:
      "Open fds against the limit is a first-minute check for an API that stops answering with low CPU.",
    followUps: [
      {
        id: "find-fd-holder",
        title: "Find what holds the descriptors",
        priority: "P1",
        kind: "investigate",
        text:
          "Next time, before restarting, save `ls -l /proc/$PID/fd`, `ss -tanpo` for port {port} and a class " +
          "histogram; the saved evidence here showed {openFds} open of {fdLimit}. Top files: {topFiles}.",
        snippet: null,
      },
      FD_ALARM,
      RAISE_NOFILE_STOPGAP,
    ],
  },
  "file-handle-leak": {
    title: "File handles opened and never closed",
    trigger:
      "A code path opens files (streams, readers, zip/jar files) and does not close them on every path, usually an " +
      "exception path. Each call leaks a descriptor until the open-files limit is reached.",
    lesson:
      "File-handle leaks show up as many descriptors on the same few paths; the top paths point at the code.",
    followUps: [
      {
        id: "try-with-resources",
        title: "Close files with try-with-resources on every path",
        priority: "P1",
        kind: "prevent",
        text:
          "Review the code that opens the most-held files and wrap every stream, reader, `ZipFile` and " +
          "`Files.newInputStream`/`Files.lines`/`Files.list` in try-with-resources. Most-held paths: {topFiles}.",
        snippet: {
          language: "java",
          code: "try (InputStream in = Files.newInputStream(path)) {\n  return parse(in);\n} // closed on success and on exception",
        },
      },
      {
        id: "leak-test",
        title: "Add a test that fails on leaked descriptors",
        priority: "P2",
        kind: "prevent",
        text:
          "Run the suspect code path a few thousand times in a test and assert the count in `/proc/self/fd` does not " +
          "grow; static analysis (Error Prone `MustBeClosedChecker`, SpotBugs `OBL_UNSATISFIED_OBLIGATION`) catches the rest.",
        snippet: null,
      },
      FD_ALARM,
      RAISE_NOFILE_STOPGAP,
    ],
  },
  "thread-pool-exhaustion": {
    title: "Every request thread busy, waiting on a downstream call",
    trigger:
      "A downstream dependency (database, HTTP service) slowed down or stopped answering; request threads waited " +
      "on it without a timeout until all of them were busy and new requests queued in the accept backlog.",
    lesson: "A request pool with no downstream timeouts turns a slow dependency into a full outage.",
    followUps: [
      {
        id: "downstream-timeouts",
        title: "Put timeouts on every downstream call",
        priority: "P1",
        kind: "prevent",
        text:
          "Set connect and read timeouts on JDBC (`connectTimeout`/`socketTimeout`, HikariCP `connectionTimeout`), " +
          "HTTP clients and any remote call, shorter than the request timeout clients use. {busyThreads} of the " +
          "request threads were busy in the evidence.",
        snippet: null,
      },
      {
        id: "pool-sizing",
        title: "Size the request and connection pools together",
        priority: "P2",
        kind: "prevent",
        text:
          "Tomcat `maxThreads` ({requestPool}) far above the database pool size just queues threads on the pool. " +
          "Size them together, and bulkhead slow dependencies onto their own executor.",
        snippet: null,
      },
      {
        id: "thread-dump-on-alarm",
        title: "Take a thread dump automatically when the pool is full",
        priority: "P2",
        kind: "detect",
        text:
          "Save `jcmd $PID Thread.print` (three dumps, 5 s apart) when busy threads reach `maxThreads`, and alarm on " +
          "busy threads and the accept queue, so the blocking call is named without a live session.",
        snippet: null,
      },
    ],
  },
  "heap-exhaustion": {
    title: "The heap filled up and the JVM spent its time in full GCs",
    trigger:
      "Live objects grew until the old generation was full; the JVM ran back-to-back full GCs and answered slowly " +
      "or not at all, then threw `OutOfMemoryError`.",
    lesson: "Without a heap dump taken at the OOM, the retaining class has to be guessed from a histogram.",
    followUps: [
      {
        id: "heap-dump-on-oom",
        title: "Write a heap dump on OutOfMemoryError",
        priority: "P1",
        kind: "detect",
        text:
          "Add `-XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=/var/tmp/` (on a disk with room for the heap) " +
          "and `-XX:+ExitOnOutOfMemoryError`, so the next one leaves evidence and restarts cleanly.",
        snippet: null,
      },
      {
        id: "find-retaining-class",
        title: "Find what retains the heap",
        priority: "P1",
        kind: "investigate",
        text:
          "The largest class in the histogram was {retainingClass}. Open a heap dump in Eclipse MAT, follow the " +
          "dominator tree from it to its GC root, and bound that cache or collection (size limit, expiry).",
        snippet: null,
      },
      {
        id: "gc-alarm",
        title: "Alarm on old-generation occupancy after GC",
        priority: "P2",
        kind: "detect",
        text: "Alarm when old-gen occupancy after a full GC stays above 85% for 10 minutes (JMX or GC logs).",
        snippet: null,
      },
    ],
  },
  "load-balancer-path": {
    title: "The service answered on the host; the path through the load balancer failed",
    trigger:
      "The failure was seen through the load balancer (an alarm, or clients), but the service answered its " +
      "health check on the host. " +
      "Something between the client and the instance (target health, security groups, listener rules, idle " +
      "timeouts) dropped the traffic.",
    lesson:
      "Check the service on the host before restarting it: a restart cannot fix the path in front of it.",
    followUps: [
      {
        id: "check-target-health",
        title: "Check target health and the health-check settings",
        priority: "P1",
        kind: "investigate",
        text:
          "`aws elbv2 describe-target-health --target-group-arn ...`: read the `Reason` of unhealthy targets, and " +
          "compare the health-check path, port ({port}), matcher and timeouts with what the service answers.",
        snippet: null,
      },
      {
        id: "check-security-groups",
        title: "Check security groups and NACLs between the LB and the instance",
        priority: "P1",
        kind: "investigate",
        text:
          "The instance's security group must allow port {port} from the load balancer's security group; check " +
          "recent changes in CloudTrail (`AuthorizeSecurityGroupIngress`/`RevokeSecurityGroupIngress`).",
        snippet: null,
      },
      {
        id: "check-lb-timeouts-and-rules",
        title: "Check the LB idle timeout and listener rules",
        priority: "P2",
        kind: "investigate",
        text:
          "Compare the ALB idle timeout (default 60 s) with the service's keep-alive timeout (it must be longer on the " +
          "service), and review listener rules and recent deployments of them.",
        snippet: null,
      },
    ],
  },
  "process-down": {
    title: "The service process was not running",
    trigger:
      "The JVM exited or was killed (OOM killer, crash, deploy, manual stop) and nothing restarted it.",
    lesson:
      "A service that can die must be restarted by its supervisor, and its death must leave a reason behind.",
    followUps: [
      {
        id: "why-it-died",
        title: "Find out why the process died",
        priority: "P1",
        kind: "investigate",
        text:
          "Read `journalctl -u <service> --since <start>`, `dmesg -T | grep -i -e 'killed process' -e oom`, and " +
          "look for `hs_err_pid*.log` crash files in the working directory.",
        snippet: null,
      },
      {
        id: "restart-policy",
        title: "Restart automatically, with a limit",
        priority: "P1",
        kind: "mitigate",
        text:
          "Set `Restart=on-failure` and `RestartSec=5` in the systemd unit, with `StartLimitBurst` so a crash loop " +
          "still alarms instead of flapping forever.",
        snippet: {
          language: "ini",
          code: "[Service]\nRestart=on-failure\nRestartSec=5\n\n[Unit]\nStartLimitIntervalSec=600\nStartLimitBurst=5",
        },
      },
      {
        id: "alarm-on-process",
        title: "Alarm on the process, not only on the LB",
        priority: "P2",
        kind: "detect",
        text: "Alarm on the CloudWatch agent `procstat` `pid_count` for the service, so a dead process pages directly.",
        snippet: null,
      },
    ],
  },
  unknown: {
    title: "Cause not identified",
    trigger: "The evidence collected did not match any known failure class.",
    lesson: "When no rule matches, the saved evidence is the starting point for a new rule.",
    followUps: [
      {
        id: "review-evidence",
        title: "Review the saved evidence and write the missing rule",
        priority: "P1",
        kind: "investigate",
        text:
          "Go through the raw evidence linked below; once the cause is known, add a rule with a compliance-matrix " +
          "test so the next run names it.",
        snippet: null,
      },
      FD_ALARM,
    ],
  },
};

/** Follow-ups when no diagnosis exists (the run failed before diagnosing). */
export const NO_DIAGNOSIS_FOLLOW_UPS: readonly FollowUpTemplate[] = [
  {
    id: "fix-collection",
    title: "Make evidence collection work on this host",
    priority: "P1",
    kind: "investigate",
    text:
      "The run could not collect evidence. Check that the SSM agent is online (`aws ssm describe-instance-information`), " +
      "that the instance role allows `ssm:SendCommand`, and that the JDK tools (`jcmd`) are installed for the service's user.",
    snippet: null,
  },
  {
    id: "diagnose-by-hand",
    title: "Diagnose this incident by hand",
    priority: "P1",
    kind: "investigate",
    text:
      "Nothing was diagnosed automatically. Collect `ss -tanpo`, `ls /proc/$PID/fd | wc -l` against `/proc/$PID/limits`, " +
      "a class histogram and a thread dump by hand, and attach them to this postmortem.",
    snippet: null,
  },
];

/** Replaces `{name}` placeholders with facts; unknown names are left as they are (and caught by tests). */
export function fillPlaceholders(text: string, facts: FollowUpFacts): string {
  return text.replace(/\{([a-zA-Z]+)\}/g, (whole, name: string) =>
    Object.hasOwn(facts, name) ? String(facts[name as keyof FollowUpFacts]) : whole,
  );
}

/** Parses "9.0.37" / "10.0.0-M9" into comparable parts; null when it is not a Tomcat version. */
function parseTomcatVersion(v: string): { parts: number[]; milestone: number | null } | null {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-M(\d+))?/.exec(v.trim());
  if (!m) return null;
  return {
    parts: [Number(m[1]), Number(m[2]), Number(m[3])],
    milestone: m[4] === undefined ? null : Number(m[4]),
  };
}

function compareTomcat(a: string, b: string): number | null {
  const pa = parseTomcatVersion(a);
  const pb = parseTomcatVersion(b);
  if (!pa || !pb) return null;
  for (let i = 0; i < 3; i++) {
    const d = (pa.parts[i] ?? 0) - (pb.parts[i] ?? 0);
    if (d !== 0) return d;
  }
  // A milestone precedes the release of the same number.
  const ma = pa.milestone ?? Number.POSITIVE_INFINITY;
  const mb = pb.milestone ?? Number.POSITIVE_INFINITY;
  return ma === mb ? 0 : ma < mb ? -1 : 1;
}

/** One sentence on whether the Tomcat in the record needs the 64848 upgrade, and to what. */
export function tomcatUpgradeAdvice(version: string | null): string {
  if (version === null) {
    return "The record does not say which Tomcat runs here: check `version.sh` or the tomcat-embed jar name.";
  }
  const parsed = parseTomcatVersion(version);
  if (!parsed)
    return `The record names Tomcat \`${version}\`, which is not a version number this check understands.`;
  const branch = `${parsed.parts[0]}.${parsed.parts[1]}`;
  const fix = TOMCAT_64848_FIXED_IN.find((f) => f.branch === branch);
  if (!fix) {
    const first = parsed.parts[0] ?? 0;
    return first >= 10
      ? `This host runs Tomcat ${version}, which already includes the fixes: no upgrade needed for 64848.`
      : `This host runs Tomcat ${version}, an end-of-life branch without the fix: move to 9.0.40 or later.`;
  }
  const cmp = compareTomcat(version, fix.fixedIn);
  return cmp !== null && cmp < 0
    ? `This host runs Tomcat ${version}, which predates the fix: upgrade to ${fix.fixedIn} or later (the latest ${fix.branch}.x).`
    : `This host runs Tomcat ${version}, which already includes the fix (${fix.fixedIn}): no upgrade needed for 64848.`;
}
