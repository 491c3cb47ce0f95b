/**
 * The lab apps' command line, as lab/manager.ts passes it: {@code --name value} pairs. One parser for
 * both apps (LabApp, the Tomcat modes; JettyLabApp, jetty-ws-leak): plain Java, no Tomcat or Jetty class,
 * so either app's class path loads it.
 */
final class LabArgs {
  private final String[] args;

  LabArgs(String[] args) {
    this.args = args.clone();
  }

  /** The value after {@code --name}; {@code dflt} when the option is absent or last (no value). */
  String string(String name, String dflt) {
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals("--" + name)) {
        return args[i + 1];
      }
    }
    return dflt;
  }

  /** {@link #string} as a decimal int; a value that is not one throws NumberFormatException. */
  int integer(String name, int dflt) {
    String value = string(name, null);
    return value == null ? dflt : Integer.parseInt(value);
  }
}
