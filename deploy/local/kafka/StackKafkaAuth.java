// SASL/SCRAM users and ACLs of the local broker (STACK_KAFKA_AUTH=scram), run by deploy/local/lib/kafka.sh
// with Java's source launcher on the broker's own classpath, so nothing is built and no password is
// ever a command-line argument (each is read from its file in the stack's secrets folder).
//
//   format <cluster-id> <server.properties> <secrets-dir> <user>...
//       kafka-storage format, adding a SCRAM-SHA-512 credential per user (secrets-dir/kafka-<user>)
//   apply <broker host:port> <secrets-dir> <acl-file> <user>...
//       as the `admin` super user: upserts every user's SCRAM-SHA-512 credential (a user added to
//       acl-file after the format) and creates the ACLs of acl-file (creating one that exists is a
//       no-op). The controller listener cannot do this (Kafka 4 serves neither API there), so admin
//       must exist: a data folder formatted without SCRAM users is refused with a clear message.
//
// acl-file lines: <user> <topic|group|cluster|transactional-id> <literal|prefixed> <name> <op,op,...>
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class StackKafkaAuth {
  private static final int ITERATIONS = 8192;

  public static void main(String[] args) throws Exception {
    if (args.length >= 4 && args[0].equals("format")) {
      format(args[1], args[2], Path.of(args[3]), Arrays.copyOfRange(args, 4, args.length));
    } else if (args.length >= 4 && args[0].equals("apply")) {
      apply(args[1], Path.of(args[2]), Path.of(args[3]), Arrays.copyOfRange(args, 4, args.length));
    } else {
      System.err.println("usage: StackKafkaAuth format <cluster-id> <config> <secrets-dir> <user>...\n"
          + "       StackKafkaAuth apply <controller> <secrets-dir> <acl-file> <user>...");
      System.exit(2);
    }
  }

  private static String secret(Path dir, String name) throws Exception {
    String value = Files.readString(dir.resolve(name)).trim();
    if (value.isEmpty()) throw new IllegalStateException("empty secret " + dir.resolve(name));
    return value;
  }

  private static void format(String clusterId, String config, Path secrets, String[] users) throws Exception {
    List<String> toolArgs = new ArrayList<>(List.of("format", "-t", clusterId, "-c", config));
    for (String user : users) {
      toolArgs.add("--add-scram");
      toolArgs.add("SCRAM-SHA-512=[name=" + user + ",iterations=" + ITERATIONS + ",password="
          + secret(secrets, "kafka-" + user) + "]");
    }
    // Exits the JVM with the tool's status.
    kafka.tools.StorageTool.main(toolArgs.toArray(new String[0]));
  }

  private static void apply(String bootstrap, Path secrets, Path aclFile, String[] users) throws Exception {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.SECURITY_PROTOCOL_CONFIG, "SASL_PLAINTEXT");
    props.put("sasl.mechanism", "SCRAM-SHA-512");
    props.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required "
        + "username=\"admin\" password=\"" + secret(secrets, "kafka-admin") + "\";");
    props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "15000");
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    try (Admin admin = Admin.create(props)) {
      List<UserScramCredentialAlteration> upserts = new ArrayList<>();
      for (String user : users) {
        upserts.add(new UserScramCredentialUpsertion(user,
            new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, ITERATIONS), secret(secrets, "kafka-" + user)));
      }
      try {
        admin.alterUserScramCredentials(upserts).all().get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (e.getCause() instanceof SaslAuthenticationException) {
          System.err.println("[kafka-auth] admin cannot log in: this data folder was formatted without SCRAM"
              + " users (STACK_KAFKA_AUTH=scram on a folder first started without it). Stop kafka and"
              + " delete its data folder, or use another STACK_DIR.");
          System.exit(3);
        }
        throw e;
      }
      List<AclBinding> acls = readAcls(aclFile);
      admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
      System.out.println("[kafka-auth] " + users.length + " SCRAM users, " + acls.size() + " ACLs applied");
    }
  }

  private static List<AclBinding> readAcls(Path file) throws Exception {
    List<AclBinding> acls = new ArrayList<>();
    int lineNo = 0;
    for (String raw : Files.readAllLines(file)) {
      lineNo++;
      String line = raw.replaceFirst("#.*", "").trim();
      if (line.isEmpty()) continue;
      String[] f = line.split("\\s+");
      if (f.length != 5) throw new IllegalArgumentException(file + ":" + lineNo + ": expected 5 fields");
      ResourcePattern pattern = new ResourcePattern(
          ResourceType.fromString(f[1].replace('-', '_').toUpperCase(Locale.ROOT)),
          f[3],
          PatternType.fromString(f[2].toUpperCase(Locale.ROOT)));
      if (pattern.resourceType() == ResourceType.UNKNOWN || pattern.patternType() == PatternType.UNKNOWN) {
        throw new IllegalArgumentException(file + ":" + lineNo + ": unknown resource or pattern type");
      }
      for (String op : f[4].split(",")) {
        AclOperation operation = AclOperation.fromString(op.replace('-', '_').toUpperCase(Locale.ROOT));
        if (operation == AclOperation.UNKNOWN) {
          throw new IllegalArgumentException(file + ":" + lineNo + ": unknown operation " + op);
        }
        acls.add(new AclBinding(pattern,
            new AccessControlEntry("User:" + f[0], "*", operation, AclPermissionType.ALLOW)));
      }
    }
    return acls;
  }
}
