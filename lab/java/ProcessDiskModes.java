import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.File;
import java.io.FileOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;

/**
 * The lab's process-down and disk-full modes (issue 13, points 5 and 6), each a real failure:
 *
 * <ul>
 *   <li>process-oom-killed: GET /api/hog keeps heap; the lab manager started the JVM with -Xmx above its
 *       memory cgroup's limit, so the kernel's OOM killer kills it.
 *   <li>process-crashed: GET /api/hog until OutOfMemoryError; -XX:+CrashOnOutOfMemoryError makes the JVM
 *       abort and write hs_err_pid*.log (in /tmp: the manager starts it in / as an unprivileged user).
 *   <li>process-exited: GET /api/shutdown answers, then the JVM exits with status 0 (an admin shutdown).
 *   <li>disk-full: GET /api/report appends a request record to requests.log in the log folder, rolled at
 *       1 MiB into requests.log.N and never deleted (no maxHistory); /health checks free space like Spring
 *       Boot's disk-space indicator (DOWN below 10 MiB). The manager mounts a small tmpfs there.
 * </ul>
 */
public final class ProcessDiskModes {
  static final Set<String> MODES = Set.of("process-oom-killed", "process-crashed", "process-exited", "disk-full");

  /** Spring Boot's DiskSpaceHealthIndicator default threshold. */
  static final long DISK_THRESHOLD = 10L * 1024 * 1024;

  static final long ROLL_BYTES = 1024L * 1024;

  /** Heap kept by /api/hog (reachable: nothing frees it). */
  static final List<byte[]> HOG = new CopyOnWriteArrayList<>();

  static File logDir;
  static FileOutputStream requestLog;
  static long requestLogBytes;
  static int rolled;

  private ProcessDiskModes() {}

  /** Adds the mode's endpoints (after LabApp's own mappings: /health is replaced in disk-full). */
  static void install(Context ctx, String mode, LabArgs options) throws IOException {
    Tomcat.addServlet(ctx, "hog", new HogServlet());
    ctx.addServletMappingDecoded("/api/hog", "hog");
    Tomcat.addServlet(ctx, "shutdown", new ShutdownServlet());
    ctx.addServletMappingDecoded("/api/shutdown", "shutdown");
    if ("disk-full".equals(mode)) {
      logDir = new File(options.string("log-dir", "."));
      openRequestLog();
      Tomcat.addServlet(ctx, "report", new ReportServlet());
      ctx.addServletMappingDecoded("/api/report", "report");
      Tomcat.addServlet(ctx, "disk-health", new DiskHealthServlet());
      ctx.addServletMappingDecoded("/health", "disk-health");
    }
    LabApp.LOG.info("ProcessDiskModes: mode " + mode + " installed (/api/hog, /api/shutdown"
        + ("disk-full".equals(mode) ? ", /api/report, disk-space /health on " + logDir : "") + ")");
  }

  static synchronized void openRequestLog() throws IOException {
    requestLog = new FileOutputStream(new File(logDir, "requests.log"), true);
    requestLogBytes = new File(logDir, "requests.log").length();
  }

  /** Appends one record; rolls the file at ROLL_BYTES into requests.log.N (kept forever: the bug). */
  static synchronized void append(byte[] record) throws IOException {
    requestLog.write(record);
    requestLogBytes += record.length;
    if (requestLogBytes >= ROLL_BYTES) {
      requestLog.close();
      rolled++;
      File live = new File(logDir, "requests.log");
      if (!live.renameTo(new File(logDir, "requests.log." + rolled))) {
        throw new IOException("cannot roll " + live);
      }
      openRequestLog();
    }
  }

  static final class ReportServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      // Request logging at DEBUG: the whole (256 KiB) report body goes to the request log.
      byte[] record = new byte[256 * 1024];
      java.util.Arrays.fill(record, (byte) 'r');
      record[record.length - 1] = '\n';
      try {
        append(record);
      } catch (IOException e) {
        LabApp.LOG.log(Level.SEVERE, "request log write failed: " + e.getMessage(), e);
        resp.sendError(507, "request log write failed: " + e.getMessage());
        return;
      }
      resp.setContentType("text/plain");
      resp.getWriter().write("report written (" + rolled + " rolled logs)\n");
    }
  }

  static final class DiskHealthServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      long free = logDir.getUsableSpace();
      resp.setContentType("text/plain");
      if (free < DISK_THRESHOLD) {
        resp.setStatus(503);
        resp.getWriter().write("DOWN diskSpace: free " + free + " bytes below threshold " + DISK_THRESHOLD
            + " in " + logDir + "\n");
        return;
      }
      resp.getWriter().write("UP diskSpace: free " + free + " bytes\n");
    }
  }

  static final class HogServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      int mb = Integer.parseInt(req.getParameter("mb") == null ? "16" : req.getParameter("mb"));
      byte[] chunk = new byte[mb * 1024 * 1024];
      // Touch every page: resident memory, not only reserved heap.
      for (int i = 0; i < chunk.length; i += 4096) {
        chunk[i] = 1;
      }
      HOG.add(chunk);
      resp.setContentType("text/plain");
      resp.getWriter().write("holding " + HOG.size() * (long) mb + " MB\n");
    }
  }

  static final class ShutdownServlet extends HttpServlet {
    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      resp.setContentType("text/plain");
      resp.getWriter().write("shutting down\n");
      resp.flushBuffer();
      LabApp.LOG.info("Shutdown requested through /api/shutdown: exiting with status 0");
      Thread t = new Thread(() -> {
        try {
          Thread.sleep(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        System.exit(0);
      }, "lab-shutdown");
      t.start();
    }
  }
}
