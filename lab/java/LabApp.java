import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.websocket.CloseReason;
import jakarta.websocket.OnClose;
import jakarta.websocket.OnError;
import jakarta.websocket.OnMessage;
import jakarta.websocket.OnOpen;
import jakarta.websocket.Session;
import jakarta.websocket.server.ServerEndpoint;
import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.catalina.util.ServerInfo;
import org.apache.juli.OneLineFormatter;
import org.apache.tomcat.websocket.server.WsSci;

/**
 * The reproduction lab's service: an embedded Tomcat 10 app with a health endpoint, a JSR-356
 * WebSocket endpoint and one deliberate failure mode chosen at start.
 *
 * <p>Modes: ws-leak (sessions kept in a static map, no idle timeout, a per-session buffer),
 * file-leak (GET /api/export opens a file and never closes it), slow (GET /api/slow blocks a
 * request thread for ten minutes; small thread pool), healthy (nothing leaks), close-wait
 * (CloseWaitLab: upstream connections never closed), listen-backlog (ListenBacklogLab: the acceptor stalls).
 */
public final class LabApp {
  static final Logger LOG = Logger.getLogger("lab.LabApp");

  static volatile String mode = "healthy";
  static volatile int sessionBytes = 8192;
  static volatile File exportFile;
  static volatile File versionFile;

  /** Open sessions, like typical push code: id -> session plus its per-session state. */
  static final Map<String, PushClient> SESSIONS = new ConcurrentHashMap<>();

  /** file-leak: streams opened by /api/export and never closed (kept reachable, as a "cache" would). */
  static final List<InputStream> OPEN_EXPORTS = new CopyOnWriteArrayList<>();

  static final AtomicLong EXPORTS = new AtomicLong();

  /** Per-session state a push service keeps: the session and a buffer of recent messages. */
  static final class PushClient {
    final Session session;
    final byte[] buffer;
    final long openedAt = System.currentTimeMillis();

    PushClient(Session session, int bytes) {
      this.session = session;
      this.buffer = new byte[bytes];
      // Touch every page so the buffer is real, resident heap.
      for (int i = 0; i < buffer.length; i += 4096) {
        buffer[i] = 1;
      }
    }
  }

  @ServerEndpoint("/ws")
  public static final class PushEndpoint {
    @OnOpen
    public void onOpen(Session session) {
      if ("healthy".equals(mode)) {
        // The fix: idle sessions are closed by the container.
        session.setMaxIdleTimeout(30_000);
      }
      // ws-leak: no idle timeout (Tomcat's default is 0 = never), nothing ever removes a
      // session whose client vanished without a close frame or FIN.
      SESSIONS.put(session.getId(), new PushClient(session, sessionBytes));
    }

    @OnMessage
    public void onMessage(Session session, String message) throws IOException {
      session.getBasicRemote().sendText("echo:" + message);
    }

    @OnClose
    public void onClose(Session session, CloseReason reason) {
      SESSIONS.remove(session.getId());
    }

    @OnError
    public void onError(Session session, Throwable error) {
      LOG.log(Level.WARNING, "WebSocket session " + session.getId() + " error", error);
      if ("healthy".equals(mode)) {
        SESSIONS.remove(session.getId());
      }
    }
  }

  /**
   * Like many real health checks, it touches the disk: it reads the build's version file (closing it
   * properly). When the process has no descriptor left for the file, health answers 500.
   */
  static final class HealthServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      resp.setContentType("text/plain");
      String version;
      try (InputStream in = new FileInputStream(versionFile)) {
        version = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).trim();
      } catch (IOException e) {
        resp.setStatus(500);
        resp.getWriter().write("unhealthy: cannot read " + versionFile + ": " + e.getMessage());
        return;
      }
      resp.getWriter().write("ok " + version);
    }
  }

  static final class ExportServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      long n = EXPORTS.incrementAndGet();
      InputStream in = new FileInputStream(exportFile);
      byte[] head = new byte[64];
      int read = in.read(head);
      if ("file-leak".equals(mode)) {
        // The bug: the stream is never closed (kept in a list, so no Cleaner closes it either).
        OPEN_EXPORTS.add(in);
      } else {
        in.close();
      }
      resp.setContentType("text/plain");
      resp.getWriter().write("export " + n + " read " + read + " bytes\n");
    }
  }

  static final class SlowServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      long ms = "slow".equals(mode) ? 600_000L : 10L;
      try {
        Thread.sleep(ms);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      resp.setContentType("text/plain");
      resp.getWriter().write("slow done\n");
    }
  }

  /** Default servlet: without one, unmapped paths (like /ws) 404 before WsFilter can upgrade them. */
  static final class NotFoundServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      resp.sendError(HttpServletResponse.SC_NOT_FOUND);
    }
  }

  static final class StatsServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      resp.setContentType("application/json");
      PrintWriter w = resp.getWriter();
      Runtime rt = Runtime.getRuntime();
      w.write("{\"mode\":\"" + mode + "\",\"sessions\":" + SESSIONS.size() + ",\"openExports\":"
          + OPEN_EXPORTS.size() + ",\"heapUsed\":" + (rt.totalMemory() - rt.freeMemory())
          + ",\"heapMax\":" + rt.maxMemory() + "}\n");
    }
  }

  static void setUpLogging() {
    // Tomcat logs through JULI to java.util.logging; send everything to stderr (the lab
    // manager redirects stdout and stderr to the app log) in Tomcat's one-line format.
    // JULI's DirectJDKLog re-formats root console handlers with this class when it loads.
    System.setProperty("org.apache.juli.formatter", OneLineFormatter.class.getName());
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    Handler console = new ConsoleHandler();
    console.setLevel(Level.ALL);
    console.setFormatter(new OneLineFormatter());
    root.addHandler(console);
    root.setLevel(Level.INFO);
  }

  public static void main(String[] args) throws Exception {
    setUpLogging();
    LabArgs options = new LabArgs(args);
    mode = options.string("mode", "healthy");
    int port = options.integer("port", 18080);
    sessionBytes = options.integer("session-bytes", 8192);
    int maxThreads = options.integer("max-threads", "slow".equals(mode) ? 4 : 200);
    // 0 = leave Tomcat's default (keepAliveTimeout = connectionTimeout = 60 s).
    int keepAliveMs = options.integer("keep-alive-ms", 0);
    // 0 = leave Tomcat's default maxConnections (8,192 for NIO).
    int maxConnections = options.integer("max-connections", 0);
    int acceptCount = options.integer("accept-count", "slow".equals(mode) ? 2 : 100);
    File dataDir = new File(options.string("data-dir", "."));
    if (!Set.of("ws-leak", "file-leak", "slow", "healthy", "heap-leak", "close-wait", "listen-backlog").contains(mode)
        && !PoolLab.MODES.contains(mode) && !ProcessDiskModes.MODES.contains(mode)
        && !CloseWaitInboundLab.MODE.equals(mode)) {
      System.err.println("LabApp: unknown mode " + mode);
      System.exit(2);
    }

    File baseDir = new File(dataDir, "tomcat");
    baseDir.mkdirs();
    versionFile = new File(dataDir, "version.txt");
    Files.writeString(versionFile.toPath(), "lab-app " + mode + "\n");
    exportFile = new File(dataDir, "export.csv");
    if (!exportFile.exists()) {
      Files.writeString(exportFile.toPath(), "id,name,amount\n1,alpha,10\n2,beta,20\n");
    }

    LOG.info("Server version name:   " + ServerInfo.getServerInfo());
    LOG.info("Server version number: " + ServerInfo.getServerNumber());
    LOG.info("JVM: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
        + ", maxHeap=" + (Runtime.getRuntime().maxMemory() / (1024 * 1024)) + "MB");
    LOG.info("LabApp starting: pid=" + ProcessHandle.current().pid() + " mode=" + mode + " port=" + port
        + " sessionBytes=" + sessionBytes + " maxThreads=" + maxThreads + " acceptCount=" + acceptCount
        + " keepAliveTimeout=" + (keepAliveMs > 0 ? keepAliveMs + "ms" : "default"));

    Tomcat tomcat = new Tomcat();
    tomcat.setBaseDir(baseDir.getAbsolutePath());
    // NIO connector; keepAliveTimeout and connectionTimeout stay at Tomcat's documented defaults unless
    // --keep-alive-ms is given (tests shorten it so "idle beyond keep-alive" is reached in seconds).
    Connector connector = new Connector("HTTP/1.1");
    connector.setPort(port);
    connector.setProperty("address", "127.0.0.1");
    connector.setProperty("maxThreads", Integer.toString(maxThreads));
    connector.setProperty("minSpareThreads", Integer.toString(Math.min(maxThreads, 10)));
    connector.setProperty("acceptCount", Integer.toString(acceptCount));
    if (keepAliveMs > 0) {
      connector.setProperty("keepAliveTimeout", Integer.toString(keepAliveMs));
      connector.setProperty("connectionTimeout", Integer.toString(keepAliveMs));
    }
    if (maxConnections > 0) connector.setProperty("maxConnections", Integer.toString(maxConnections));
    tomcat.setConnector(connector);

    Context ctx = tomcat.addContext("", baseDir.getAbsolutePath());
    Tomcat.addServlet(ctx, "default", new NotFoundServlet());
    ctx.addServletMappingDecoded("/", "default");
    Tomcat.addServlet(ctx, "health", new HealthServlet());
    ctx.addServletMappingDecoded("/health", "health");
    Tomcat.addServlet(ctx, "export", new ExportServlet());
    ctx.addServletMappingDecoded("/api/export", "export");
    Tomcat.addServlet(ctx, "slow", new SlowServlet());
    ctx.addServletMappingDecoded("/api/slow", "slow");
    Tomcat.addServlet(ctx, "stats", new StatsServlet());
    ctx.addServletMappingDecoded("/api/stats", "stats");
    if ("heap-leak".equals(mode)) HeapLeak.install(ctx, sessionBytes);
    if ("close-wait".equals(mode)) CloseWaitLab.install(ctx);
    if (CloseWaitInboundLab.MODE.equals(mode)) CloseWaitInboundLab.install(ctx);
    if ("listen-backlog".equals(mode)) ListenBacklogLab.install(ctx, connector);
    if (ProcessDiskModes.MODES.contains(mode)) ProcessDiskModes.install(ctx, mode, options);
    // JSR-356: WsSci creates the WsServerContainer and deploys the @ServerEndpoint class.
    ctx.addServletContainerInitializer(new WsSci(), Set.of(PushEndpoint.class));
    PoolLab.install(ctx, mode, dataDir); // connection-pool-exhaustion modes (lab/java/PoolLab.java)

    tomcat.start();
    LOG.info("LabApp started on http://127.0.0.1:" + port + " (GET /health, ws /ws, GET /api/export, GET /api/slow)");
    tomcat.getServer().await();
  }
}
