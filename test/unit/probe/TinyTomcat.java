// A tiny embedded Tomcat 10 used as a live probe target in test/unit/probe (not the lab app).
// Run: java -cp /usr/share/java/tomcat10-embed-core.jar test/unit/probe/TinyTomcat.java PORT
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.File;
import java.io.IOException;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;

public class TinyTomcat {
  static final java.util.List<java.io.InputStream> LEAKED = new java.util.concurrent.CopyOnWriteArrayList<>();

  public static void main(String[] args) throws Exception {
    int port = Integer.parseInt(args[0]);
    Tomcat tomcat = new Tomcat();
    File base = new File(System.getProperty("java.io.tmpdir"), "tinytomcat-" + port);
    base.mkdirs();
    tomcat.setBaseDir(base.getAbsolutePath());
    tomcat.setPort(port);
    tomcat.getConnector();
    Context ctx = tomcat.addContext("", base.getAbsolutePath());
    Tomcat.addServlet(ctx, "health", new HttpServlet() {
      @Override
      protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        resp.setContentType("text/plain");
        resp.getWriter().write("ok");
      }
    });
    ctx.addServletMappingDecoded("/health", "health");
    // /slow?ms=N holds a request thread; /leak-file opens a file and never closes it.
    Tomcat.addServlet(ctx, "slow", new HttpServlet() {
      @Override
      protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        try {
          Thread.sleep(Long.parseLong(req.getParameter("ms") == null ? "1000" : req.getParameter("ms")));
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        resp.getWriter().write("slow");
      }
    });
    ctx.addServletMappingDecoded("/slow", "slow");
    Tomcat.addServlet(ctx, "leakFile", new HttpServlet() {
      @Override
      protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        LEAKED.add(new java.io.FileInputStream("/etc/hostname"));
        resp.getWriter().write("leaked " + LEAKED.size());
      }
    });
    ctx.addServletMappingDecoded("/leak-file", "leakFile");
    tomcat.start();
    System.out.println("READY " + port);
    tomcat.getServer().await();
  }
}
