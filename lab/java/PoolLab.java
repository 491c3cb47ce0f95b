import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.File;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;
import org.h2.tools.Server;

/**
 * The connection-pool-exhaustion lab: the Tomcat app of LabApp with a real HikariCP pool (Debian
 * libhikaricp-java, defaults: 10 connections, 30 s connectionTimeout, no leak detection) on a real
 * H2 database (libh2-java) reached over TCP on a loopback port of its own, as an app reaches its
 * database host.
 *
 * <p>Modes:
 * <ul>
 *   <li>pool-leak: GET /api/report borrows a connection and never returns it (the bug: an early return
 *       without close). Once the pool's ten connections are leaked, every request that needs the database
 *       (GET /api/orders, /health) waits 30 s in HikariPool.getConnection and fails with "Connection is not
 *       available, request timed out after 30000ms." The database is idle.</li>
 *   <li>pool-slow-db: the database answers every orders query slowly (45 s, an H2 SLEEP alias standing in
 *       for a lock wait or a missing index): the pool's connections are all busy inside queries and the
 *       other requests wait for one, then time out the same way. Nothing leaks; a restart would not help.</li>
 * </ul>
 *
 * <p>/health checks the database through the pool (SELECT 1), as Spring Boot's DataSourceHealthIndicator
 * does, so an exhausted pool makes the service fail its health check.
 */
final class PoolLab {
  static final Logger LOG = Logger.getLogger("lab.PoolLab");
  static final Set<String> MODES = Set.of("pool-leak", "pool-slow-db");
  /** How long the slow database takes to answer an orders query (pool-slow-db). */
  static final long SLOW_QUERY_MS = 45_000L;

  static volatile String mode;
  static volatile HikariDataSource pool;
  /** pool-leak: connections /api/report borrowed and never closed (reachable, as a "cache" would keep them). */
  static final List<Connection> LEAKED = new CopyOnWriteArrayList<>();

  private PoolLab() {}

  /** Starts the database and the pool and maps the servlets, in a pool mode; does nothing otherwise. */
  static void install(Context ctx, String labMode, File dataDir) throws Exception {
    if (!MODES.contains(labMode)) {
      return;
    }
    mode = labMode;
    // Loopback only: the lab never listens beyond 127.0.0.1.
    System.setProperty("h2.bindAddress", "127.0.0.1");
    int dbPort;
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      dbPort = probe.getLocalPort(); // a free loopback port for the database
    }
    Server db = Server.createTcpServer("-tcpPort", Integer.toString(dbPort), "-ifNotExists").start();
    String url = "jdbc:h2:tcp://127.0.0.1:" + db.getPort() + "/mem:orders;DB_CLOSE_DELAY=-1";
    LOG.info("Database: H2 " + org.h2.engine.Constants.FULL_VERSION + " TCP server on 127.0.0.1:" + db.getPort());
    try (Connection c = java.sql.DriverManager.getConnection(url, "lab", "lab");
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE IF NOT EXISTS orders(id INT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2))");
      s.execute("MERGE INTO orders SELECT x, 'customer-' || MOD(x, 17), x * 3.5 FROM SYSTEM_RANGE(1, 200)");
      s.execute("CREATE ALIAS IF NOT EXISTS SLEEP FOR 'java.lang.Thread.sleep'");
    }
    HikariConfig cfg = new HikariConfig();
    cfg.setJdbcUrl(url);
    cfg.setUsername("lab");
    cfg.setPassword("lab");
    // HikariCP's defaults otherwise: maximumPoolSize 10, connectionTimeout 30000, leakDetectionThreshold 0.
    pool = new HikariDataSource(cfg);
    LOG.info("Pool: " + pool.getPoolName() + " maximumPoolSize=" + pool.getMaximumPoolSize()
        + " connectionTimeout=" + pool.getConnectionTimeout() + "ms leakDetectionThreshold="
        + pool.getLeakDetectionThreshold());

    Tomcat.addServlet(ctx, "orders", new OrdersServlet());
    ctx.addServletMappingDecoded("/api/orders", "orders");
    Tomcat.addServlet(ctx, "report", new ReportServlet());
    ctx.addServletMappingDecoded("/api/report", "report");
    // Replaces LabApp's file-reading health check with the database check.
    Tomcat.addServlet(ctx, "db-health", new DbHealthServlet());
    ctx.addServletMappingDecoded("/health", "db-health");
  }

  static void fail(HttpServletResponse resp, String what, SQLException e) throws IOException {
    // As a Spring MVC app logs an unhandled exception: the message and the stack trace.
    LOG.log(Level.SEVERE, what + " failed", e);
    resp.setStatus(503);
    resp.setContentType("text/plain");
    resp.getWriter().write(what + " failed: " + e.getMessage() + "\n");
  }

  /** Correct code: borrows, queries, returns the connection (try-with-resources). */
  static final class OrdersServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      int customer = Math.floorMod(req.getRequestURI().hashCode() + (int) System.nanoTime(), 17);
      try (Connection c = pool.getConnection()) {
        if ("pool-slow-db".equals(mode)) {
          try (Statement s = c.createStatement()) {
            s.execute("CALL SLEEP(" + SLOW_QUERY_MS + ")");
          }
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*), SUM(total) FROM orders WHERE customer = ?")) {
          ps.setString(1, "customer-" + customer);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            resp.setContentType("application/json");
            resp.getWriter().write("{\"customer\":" + customer + ",\"orders\":" + rs.getLong(1) + ",\"total\":"
                + rs.getBigDecimal(2) + "}\n");
          }
        }
      } catch (SQLException e) {
        fail(resp, "GET /api/orders", e);
      }
    }
  }

  /** The bug (pool-leak): the connection is closed only on a path the report never takes. */
  static final class ReportServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      try {
        Connection c = pool.getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT customer, COUNT(*), SUM(total) FROM orders GROUP BY customer");
        ResultSet rs = ps.executeQuery();
        int rows = 0;
        while (rs.next()) {
          rows++;
        }
        if ("pool-leak".equals(mode)) {
          LEAKED.add(c);
        } else {
          c.close();
        }
        resp.setContentType("text/plain");
        resp.getWriter().write("report: " + rows + " customers\n");
      } catch (SQLException e) {
        fail(resp, "GET /api/report", e);
      }
    }
  }

  /** Like Spring Boot's DataSourceHealthIndicator: a validation query through the pool. */
  static final class DbHealthServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      try (Connection c = pool.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
        rs.next();
        resp.setContentType("text/plain");
        resp.getWriter().write("ok lab-app " + mode + " db up\n");
      } catch (SQLException e) {
        fail(resp, "GET /health", e);
      }
    }
  }
}
