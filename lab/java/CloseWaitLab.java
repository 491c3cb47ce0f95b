import com.sun.net.httpserver.HttpServer;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;

/**
 * The lab's close-wait mode: GET /api/quote asks an upstream quote service over HTTP/1.1 and never
 * closes the connection. The upstream (the JDK's own HTTP server, com.sun.net.httpserver, on an
 * ephemeral loopback port) answers and closes its end, as a server does after `Connection: close` or its
 * keep-alive timeout; the app has read the whole answer (end of stream) but keeps the socket in a list
 * "for reuse", so no Cleaner closes it either. Every call leaves one socket in CLOSE-WAIT, held by the
 * JVM, with the upstream as its peer, until the process reaches its open-files limit.
 */
final class CloseWaitLab {
  static final Logger LOG = Logger.getLogger("lab.CloseWaitLab");

  /** The bug: sockets whose peer closed, kept and never closed. */
  static final List<Socket> KEPT = new CopyOnWriteArrayList<>();

  static final AtomicLong CALLS = new AtomicLong();
  static volatile int upstreamPort;

  private CloseWaitLab() {}

  static void install(Context ctx) throws IOException {
    HttpServer upstream = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 50);
    upstream.createContext("/quote", exchange -> {
      byte[] body = ("quote " + System.nanoTime() % 10_000 + "\n").getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", "text/plain");
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    });
    upstream.setExecutor(Executors.newFixedThreadPool(2));
    upstream.start();
    upstreamPort = upstream.getAddress().getPort();
    LOG.info("close-wait: upstream quote service on http://127.0.0.1:" + upstreamPort + "/quote");
    Tomcat.addServlet(ctx, "quote", new QuoteServlet());
    ctx.addServletMappingDecoded("/api/quote", "quote");
  }

  static final class QuoteServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      long n = CALLS.incrementAndGet();
      String answer;
      try {
        Socket s = new Socket("127.0.0.1", upstreamPort);
        OutputStream out = s.getOutputStream();
        out.write(("GET /quote HTTP/1.1\r\nHost: quotes.internal\r\nConnection: close\r\n\r\n")
            .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        // Read to the end of the stream: the upstream has answered and closed its end.
        answer = new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        // The bug: the socket is kept "for reuse" and never closed (no try-with-resources).
        KEPT.add(s);
      } catch (IOException e) {
        LOG.log(Level.WARNING, "quote call " + n + " failed: " + e.getMessage());
        resp.setStatus(502);
        resp.getWriter().write("upstream error: " + e.getMessage() + "\n");
        return;
      }
      int body = answer.indexOf("\r\n\r\n");
      resp.setContentType("text/plain");
      resp.getWriter().write("call " + n + ": " + (body < 0 ? "?" : answer.substring(body + 4).trim()) + "\n");
    }
  }
}
