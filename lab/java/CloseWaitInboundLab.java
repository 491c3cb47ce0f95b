import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;
import org.apache.catalina.Context;
import org.apache.catalina.Wrapper;
import org.apache.catalina.startup.Tomcat;

/**
 * The lab's close-wait-inbound mode: GET /api/events is a long poll done with Servlet async, the way a
 * Spring {@code DeferredResult} without a timeout works: the servlet calls {@code startAsync()}, sets the
 * async timeout to 0 (never), parks the {@link AsyncContext} in a list of subscribers and returns; the
 * request thread goes back to the pool. The bug: no event is ever published, so nothing completes the
 * requests, and nothing times them out. Clients give up after a while and close their end; Tomcat does not
 * watch a socket for reads while its request is in async mode, so it never sees the FIN: the server's
 * socket stays in CLOSE-WAIT on the app port, held by the JVM, one per abandoned request, with no request
 * thread busy, until the process reaches its open-files limit.
 */
final class CloseWaitInboundLab {
  static final String MODE = "close-wait-inbound";
  static final Logger LOG = Logger.getLogger("lab.CloseWaitInboundLab");

  /** Subscribers waiting for an event that never comes: never completed, never timed out. */
  static final List<AsyncContext> WAITING = new CopyOnWriteArrayList<>();

  static final AtomicLong POLLS = new AtomicLong();

  private CloseWaitInboundLab() {}

  static void install(Context ctx) {
    Wrapper w = Tomcat.addServlet(ctx, "events", new EventsServlet());
    w.setAsyncSupported(true);
    ctx.addServletMappingDecoded("/api/events", "events");
    LOG.info(MODE + ": GET /api/events is a long poll (startAsync, async timeout 0 = never)");
  }

  static final class EventsServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) {
      POLLS.incrementAndGet();
      AsyncContext async = req.startAsync();
      // The bug: 0 = no timeout (a DeferredResult without a timeout, with no default async timeout set).
      async.setTimeout(0);
      WAITING.add(async);
    }
  }
}
