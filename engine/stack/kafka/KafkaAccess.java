// Applies city-ops' Kafka users and ACLs with Kafka's own AdminClient (kafka-clients, already in the stack's
// libs): the JavaScript client has no ACL or SCRAM API. Run as a single-file program by the stack:
//   java -cp '<stack>/kafka/libs/*' KafkaAccess.java <bootstrap> <admin user> <admin password> <spec file>
// The spec (written by engine/stack/kafkaAccess.ts) has one line per item, tab-separated:
//   user <name> <password>                          SCRAM-SHA-512 credentials, created or replaced
//   acl <principal> <TOPIC|GROUP|CLUSTER> <LITERAL|PREFIXED> <name> <operation>   an ALLOW rule
//   revoke <principal> <TOPIC|GROUP|CLUSTER> <LITERAL|PREFIXED> <name> <operation>  removes that rule
// Prints one line with what it applied; exits 1 with the reason on stderr when the broker refuses.
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialAlteration;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

public class KafkaAccess {
  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: KafkaAccess <bootstrap> <admin user> <admin password> <spec file>");
      System.exit(2);
    }
    Properties config = new Properties();
    config.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    config.put("security.protocol", "SASL_PLAINTEXT");
    config.put("sasl.mechanism", "SCRAM-SHA-512");
    config.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
            + args[1] + "\" password=\"" + args[2] + "\";");
    config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "20000");
    List<UserScramCredentialAlteration> users = new ArrayList<>();
    List<AclBinding> acls = new ArrayList<>();
    List<AclBindingFilter> revoked = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of(args[3]))) {
      if (line.isBlank()) continue;
      String[] f = line.split("\t");
      if (f[0].equals("user")) {
        users.add(new UserScramCredentialUpsertion(
            f[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), f[2]));
      } else if (f[0].equals("acl")) {
        acls.add(new AclBinding(
            new ResourcePattern(ResourceType.fromString(f[2]), f[4], PatternType.fromString(f[3])),
            new AccessControlEntry(f[1], "*", AclOperation.fromString(f[5]), AclPermissionType.ALLOW)));
      } else if (f[0].equals("revoke")) {
        revoked.add(new AclBinding(
            new ResourcePattern(ResourceType.fromString(f[2]), f[4], PatternType.fromString(f[3])),
            new AccessControlEntry(f[1], "*", AclOperation.fromString(f[5]), AclPermissionType.ALLOW))
            .toFilter());
      } else {
        throw new IllegalArgumentException("unknown spec line: " + f[0]);
      }
    }
    try (Admin admin = Admin.create(config)) {
      if (!users.isEmpty()) admin.alterUserScramCredentials(users).all().get();
      if (!acls.isEmpty()) admin.createAcls(acls).all().get();
      if (!revoked.isEmpty()) admin.deleteAcls(revoked).all().get();
    } catch (Exception error) {
      Throwable cause = error.getCause() != null ? error.getCause() : error;
      System.err.println(cause.getClass().getSimpleName() + ": " + cause.getMessage());
      System.exit(1);
    }
    System.out.println(
        "applied " + users.size() + " users and " + acls.size() + " ACLs, revoked " + revoked.size());
  }
}
