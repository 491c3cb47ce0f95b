import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.logging.Logger;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;

/**
 * The lab's listen-backlog mode: Tomcat's acceptor stops accepting while request threads and file
 * descriptors stay fine. `GET /lab/stall-acceptor` (the lab's fault switch, sent by `lab load`) pauses
 * the connector's endpoint (Connector.pause(): the acceptor thread loops without calling accept(), the
 * listening socket stays bound), which is what a stuck acceptor thread or a reached maxConnections
 * looks like from outside. The kernel keeps completing handshakes into the accept queue (acceptCount,
 * 100 by default) until it is full, then drops new connections (TcpExt ListenOverflows, ListenDrops).
 */
final class ListenBacklogLab {
  static final Logger LOG = Logger.getLogger("lab.ListenBacklogLab");

  private ListenBacklogLab() {}

  static void install(Context ctx, Connector connector) {
    Tomcat.addServlet(ctx, "stall-acceptor", new StallServlet(connector));
    ctx.addServletMappingDecoded("/lab/stall-acceptor", "stall-acceptor");
  }

  static final class StallServlet extends HttpServlet {
    private final transient Connector connector;

    StallServlet(Connector connector) {
      this.connector = connector;
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      resp.setContentType("text/plain");
      resp.setHeader("Connection", "close");
      resp.getWriter().write("the acceptor stops accepting\n");
      resp.flushBuffer();
      // After this answer has left: pausing from the request thread itself would wait for it.
      Thread t = new Thread(() -> {
        try {
          Thread.sleep(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        LOG.info("listen-backlog: the connector's acceptor is paused; connections now wait in the accept queue");
        connector.pause();
      }, "lab-stall-acceptor");
      t.setDaemon(true);
      t.start();
    }
  }
}
