// Prints, as JSON, the CRC-64-AVRO fingerprint (little-endian hex, as single-object encoding
// writes it) and Parsing Canonical Form that Apache Avro for Java computes for each schema file
// given, plus a few primitive schemas. packages/contracts compares its own results against this
// output, so any Avro implementation in any language reads our topics.
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

public class AvroFingerprints {
  private static String hexLittleEndian(long fp) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < 8; i++) out.append(String.format("%02x", (fp >>> (8 * i)) & 0xff));
    return out.toString();
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  private static String entry(String key, Schema schema) {
    String canonical = SchemaNormalization.toParsingForm(schema);
    long fp = SchemaNormalization.parsingFingerprint64(schema);
    return "  " + quote(key) + ": {\"fingerprint\": " + quote(hexLittleEndian(fp)) + ", \"canonical\": " + quote(canonical) + "}";
  }

  public static void main(String[] args) throws Exception {
    List<String> entries = new ArrayList<>();
    for (String primitive : new String[] {"null", "int", "string"}) {
      entries.add(entry("primitive:" + primitive, Schema.create(Schema.Type.valueOf(primitive.toUpperCase()))));
    }
    for (String file : args) {
      Path path = Path.of(file);
      String key = path.getParent().getFileName() + "/" + path.getFileName().toString().replace(".avsc", "");
      entries.add(entry(key, new Schema.Parser().parse(Files.readString(path))));
    }
    System.out.println("{\n" + String.join(",\n", entries) + "\n}");
  }
}
