import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.catalina.Context;

/**
 * The lab's heap-leak mode: heap exhaustion by session objects, the way a shop API dies of a crawler.
 * GET /api/cart creates an HTTP session (Tomcat's StandardSession, 30 min timeout, the default) and keeps a
 * cart in it: about `sessionBytes` of {@link CartItem} objects. A client that sends no cookie (a crawler, a
 * health checker, a mobile app that drops cookies) gets a new session, and a new cart, on every request;
 * nothing is released before the timeout. With a small -Xmx the old generation fills with carts, the JVM
 * runs back-to-back full GCs that free nothing, and requests fail with OutOfMemoryError (logged by Tomcat
 * on stderr, which the lab redirects to its log like a service manager would).
 */
final class HeapLeak {
  private HeapLeak() {}

  static final AtomicLong CARTS = new AtomicLong();

  /** One line of a cart: what a cart service keeps per item. ~80 bytes: the histogram's largest class. */
  static final class CartItem {
    final long sku;
    final long quantity;
    final long priceCents;
    final long addedAt;
    final long promotion;
    final long warehouse;
    final long reservation;
    final long flags;

    CartItem(long i) {
      sku = i;
      quantity = 1 + (i % 3);
      priceCents = 999 + i;
      addedAt = System.currentTimeMillis();
      promotion = i * 7;
      warehouse = i % 11;
      reservation = i * 13;
      flags = i & 0xff;
    }
  }

  /** The session's cart. */
  static final class Cart {
    final List<CartItem> items;

    Cart(int itemCount) {
      items = new ArrayList<>(itemCount);
      for (int i = 0; i < itemCount; i++) {
        items.add(new CartItem(i));
      }
    }
  }

  static final class CartServlet extends HttpServlet {
    private final int itemsPerCart;

    CartServlet(int sessionBytes) {
      // ~80 bytes per item and 4 per list slot.
      this.itemsPerCart = Math.max(1, sessionBytes / 84);
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
      HttpSession session = req.getSession(true);
      Cart cart = (Cart) session.getAttribute("cart");
      if (cart == null) {
        cart = new Cart(itemsPerCart);
        session.setAttribute("cart", cart);
        CARTS.incrementAndGet();
      }
      resp.setContentType("text/plain");
      resp.getWriter().write("cart " + session.getId() + " items " + cart.items.size() + " carts " + CARTS.get() + "\n");
    }
  }

  /** Installs GET /api/cart on the lab's context. */
  static void install(Context ctx, int sessionBytes) {
    ctx.setSessionTimeout(30);
    // No session persistence across restarts: a restart empties the heap, as on a real host.
    org.apache.catalina.session.StandardManager manager = new org.apache.catalina.session.StandardManager();
    manager.setPathname(null);
    ctx.setManager(manager);
    org.apache.catalina.startup.Tomcat.addServlet(ctx, "cart", new CartServlet(sessionBytes));
    ctx.addServletMappingDecoded("/api/cart", "cart");
  }
}
