import java.io.File;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.ConsoleHandler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;
import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.eclipse.jetty.util.Jetty;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.eclipse.jetty.websocket.api.Session;
import org.eclipse.jetty.websocket.api.annotations.OnWebSocketClose;
import org.eclipse.jetty.websocket.api.annotations.OnWebSocketConnect;
import org.eclipse.jetty.websocket.api.annotations.OnWebSocketError;
import org.eclipse.jetty.websocket.api.annotations.OnWebSocketMessage;
import org.eclipse.jetty.websocket.api.annotations.WebSocket;
import org.eclipse.jetty.websocket.servlet.WebSocketServlet;
import org.eclipse.jetty.websocket.servlet.WebSocketServletFactory;

/**
 * The reproduction lab's Jetty service (mode jetty-ws-leak): Jetty 9.4 (Debian libjetty9-java and
 * libjetty9-extra-java) with its native WebSocket API, a health endpoint that reads a file, and the
 * WebSocket leak of vanished clients.
 *
 * <p>Jetty closes a WebSocket idle for its policy's idle timeout (5 minutes by default). The bug
 * reproduced here is the common "fix" for mobile clients being disconnected: the idle timeout raised to
 * a day. Clients that vanish without a close frame or FIN then keep their session, socket and file
 * descriptor until the process reaches its open-files limit; nothing removes them from the session map.
 */
public final class JettyLabApp {
  static final Logger LOG = Logger.getLogger("lab.JettyLabApp");
  /** The misconfiguration: one day, so vanished clients are never timed out in practice. */
  static final long WS_IDLE_TIMEOUT_MS = 86_400_000L;

  static volatile File versionFile;
  static final Map<Session, byte[]> SESSIONS = new ConcurrentHashMap<>();
  static volatile int sessionBytes = 8192;

  private JettyLabApp() {}

  @WebSocket
  public static final class PushSocket {
    @OnWebSocketConnect
    public void onConnect(Session session) {
      byte[] buffer = new byte[sessionBytes];
      for (int i = 0; i < buffer.length; i += 4096) {
        buffer[i] = 1;
      }
      SESSIONS.put(session, buffer);
    }

    @OnWebSocketMessage
    public void onMessage(Session session, String message) throws IOException {
      session.getRemote().sendString("echo:" + message);
    }

    @OnWebSocketClose
    public void onClose(Session session, int status, String reason) {
      SESSIONS.remove(session);
    }

    @OnWebSocketError
    public void onError(Session session, Throwable error) {
      LOG.log(Level.WARNING, "WebSocket session error: " + error);
    }
  }

  public static final class PushServlet extends WebSocketServlet {
    @Override
    public void configure(WebSocketServletFactory factory) {
      factory.getPolicy().setIdleTimeout(WS_IDLE_TIMEOUT_MS);
      factory.register(PushSocket.class);
    }
  }

  /** Reads the version file, like LabApp's: with no descriptor left for it, health answers 500. */
  public static final class HealthServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      resp.setContentType("text/plain");
      String version;
      try (InputStream in = new FileInputStream(versionFile)) {
        version = new String(in.readAllBytes(), StandardCharsets.UTF_8).trim();
      } catch (IOException e) {
        resp.setStatus(500);
        resp.getWriter().write("unhealthy: cannot read " + versionFile + ": " + e.getMessage());
        return;
      }
      resp.getWriter().write("ok " + version);
    }
  }

  public static final class StatsServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      Runtime rt = Runtime.getRuntime();
      resp.setContentType("application/json");
      resp.getWriter().write("{\"mode\":\"jetty-ws-leak\",\"sessions\":" + SESSIONS.size() + ",\"heapUsed\":"
          + (rt.totalMemory() - rt.freeMemory()) + ",\"heapMax\":" + rt.maxMemory() + "}\n");
    }
  }

  static void setUpLogging() {
    // ISO time stamps on one line, to stderr (the lab manager sends stdout and stderr to the app log).
    System.setProperty("java.util.logging.SimpleFormatter.format",
        "%1$tY-%1$tm-%1$td %1$tH:%1$tM:%1$tS.%1$tL %4$s [%3$s] %5$s%6$s%n");
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    ConsoleHandler console = new ConsoleHandler();
    console.setLevel(Level.ALL);
    console.setFormatter(new SimpleFormatter());
    root.addHandler(console);
    root.setLevel(Level.INFO);
  }

  public static void main(String[] args) throws Exception {
    setUpLogging();
    LabArgs options = new LabArgs(args);
    String mode = options.string("mode", "jetty-ws-leak");
    int port = options.integer("port", 18080);
    sessionBytes = options.integer("session-bytes", 8192);
    int maxThreads = options.integer("max-threads", 200);
    File dataDir = new File(options.string("data-dir", "."));
    if (!"jetty-ws-leak".equals(mode)) {
      System.err.println("JettyLabApp: unknown mode " + mode);
      System.exit(2);
    }
    versionFile = new File(dataDir, "version.txt");
    Files.writeString(versionFile.toPath(), "lab-app " + mode + "\n");

    LOG.info("Server version: Jetty " + Jetty.VERSION);
    LOG.info("JVM: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version")
        + ", maxHeap=" + (Runtime.getRuntime().maxMemory() / (1024 * 1024)) + "MB");
    LOG.info("JettyLabApp starting: pid=" + ProcessHandle.current().pid() + " mode=" + mode + " port=" + port
        + " sessionBytes=" + sessionBytes + " maxThreads=" + maxThreads + " wsIdleTimeout=" + WS_IDLE_TIMEOUT_MS + "ms");

    Server server = new Server(new QueuedThreadPool(maxThreads));
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    server.addConnector(connector);
    ServletContextHandler ctx = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    ctx.setContextPath("/");
    ctx.addServlet(new ServletHolder(new HealthServlet()), "/health");
    ctx.addServlet(new ServletHolder(new StatsServlet()), "/api/stats");
    ctx.addServlet(new ServletHolder(new PushServlet()), "/ws");
    server.setHandler(ctx);
    server.start();
    LOG.info("JettyLabApp started on http://127.0.0.1:" + port + " (GET /health, ws /ws, GET /api/stats)");
    server.join();
  }
}
