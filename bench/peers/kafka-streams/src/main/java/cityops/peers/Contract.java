package cityops.peers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.OffsetDateTime;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The exchange contract (engine/contract/exchangeRecords.ts and decodeRecord.ts), written again in Java for
 * the peer: what a team writing this application by hand would check. Rejections are counted by reason,
 * with the same reason names as city-ops' dead letters. Not checked: that a population record's h3 is a
 * valid resolution-8 cell (no H3 library here; the simulator's records always carry lat and lon).
 */
final class Contract {
  static final int MAX_RECORD_BYTES = 64 * 1024;
  static final long MIN_EVENT_TIME = 946_684_800_000L; // 2000-01-01
  static final long MAX_EVENT_TIME = 4_102_444_800_000L; // 2100-01-01
  static final long CLOCK_SKEW_MS = 2 * 60_000L;
  static final long MAX_AGE_MS = 90L * 86_400_000L;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Set<String> MODES = Set.of("bus", "metro", "taxi", "tram", "ferry", "bike", "other");
  private static final Set<String> CATEGORIES =
      Set.of(
          "traffic_accident", "congestion", "road_damage", "fire", "flooding", "public_order", "medical",
          "environment", "illegal_parking", "facility_failure", "other");
  private static final Set<String> STATUSES = Set.of("open", "closed");
  private static final Set<String> SOURCES = Set.of("grid_staff", "sensor", "citizen", "department");

  static final Map<String, LongAdder> REJECTED = new ConcurrentHashMap<>();

  /** An accepted record: what the counts need. */
  record Accepted(String id, long ts, double lat, double lon) {}

  /** Thrown for a record that breaks the contract, with city-ops' reason name. */
  static final class Rejected extends Exception {
    final String reason;

    Rejected(String reason) {
      super(reason, null, false, false);
      this.reason = reason;
    }
  }

  private Contract() {}

  /** The record, or null when it breaks the contract (counted under its reason). */
  static Accepted accept(String stream, byte[] value, long appendTime, long now) {
    try {
      return check(stream, value, appendTime, now);
    } catch (Rejected rejected) {
      REJECTED.computeIfAbsent(rejected.reason, k -> new LongAdder()).increment();
      return null;
    }
  }

  static Map<String, Long> rejectedCounts() {
    Map<String, Long> counts = new TreeMap<>();
    REJECTED.forEach((reason, n) -> counts.put(reason, n.sum()));
    return counts;
  }

  private static Accepted check(String stream, byte[] value, long appendTime, long now) throws Rejected {
    if (value == null || value.length == 0) throw new Rejected("empty");
    if (value.length > MAX_RECORD_BYTES) throw new Rejected("oversized");
    JsonNode r;
    try {
      r = JSON.readTree(value);
    } catch (Exception e) {
      throw new Rejected("invalid_json");
    }
    if (r == null || !r.isObject()) throw new Rejected("not_an_object");
    String id = id(r, "id", true);
    long ts = eventTime(r.get("ts"));
    double lat = number(r, "lat", -90, 90, true);
    double lon = number(r, "lon", -180, 180, true);
    switch (stream) {
      case "transport" -> {
        id(r, "vehicle", true);
        oneOf(r, "mode", MODES, true);
        id(r, "route", false);
        number(r, "speed_kmh", 0, 400, false);
        integer(r, "occupancy", 0, 10_000, false);
      }
      case "events" -> {
        id(r, "incident_id", false);
        oneOf(r, "category", CATEGORIES, true);
        integer(r, "severity", 1, 5, true);
        oneOf(r, "status", STATUSES, true);
        oneOf(r, "source", SOURCES, false);
        JsonNode d = r.get("description");
        if (d != null && !d.isTextual()) throw new Rejected("wrong_type");
        if (d != null && d.asText().length() > 2_000) throw new Rejected("invalid_value");
        JsonNode reporter = r.get("reporter");
        if (reporter != null && !reporter.isObject()) throw new Rejected("wrong_type");
      }
      case "population" -> {
        integer(r, "present", 0, 10_000_000, true);
        integer(r, "inflow", 0, 10_000_000, true);
        integer(r, "outflow", 0, 10_000_000, true);
      }
      default -> throw new IllegalArgumentException("unknown stream " + stream);
    }
    if (ts < MIN_EVENT_TIME || ts >= MAX_EVENT_TIME) throw new Rejected("impossible_timestamp");
    long reference = appendTime > 0 ? Math.min(appendTime, now) : now;
    if (ts > reference + CLOCK_SKEW_MS) throw new Rejected("clock_skew");
    if (ts < reference - MAX_AGE_MS) throw new Rejected("too_old");
    if (lat == 0 && lon == 0) throw new Rejected("impossible_coordinates");
    return new Accepted(id, ts, lat, lon);
  }

  private static JsonNode field(JsonNode r, String name, boolean required) throws Rejected {
    JsonNode v = r.get(name);
    if (v == null || v.isNull()) {
      if (required) throw new Rejected("missing_field");
      return null;
    }
    return v;
  }

  private static String id(JsonNode r, String name, boolean required) throws Rejected {
    JsonNode v = field(r, name, required);
    if (v == null) return null;
    if (!v.isTextual()) throw new Rejected("wrong_type");
    String s = v.asText();
    if (s.isEmpty() || s.length() > 128) throw new Rejected("invalid_value");
    for (int i = 0; i < s.length(); i++) {
      int type = Character.getType(s.charAt(i));
      if (type == Character.CONTROL || type == Character.FORMAT) throw new Rejected("invalid_value");
    }
    return s;
  }

  private static double number(JsonNode r, String name, double min, double max, boolean required)
      throws Rejected {
    JsonNode v = field(r, name, required);
    if (v == null) return Double.NaN;
    if (!v.isNumber()) throw new Rejected("wrong_type");
    double d = v.asDouble();
    if (d < min || d > max) {
      throw new Rejected(name.equals("lat") || name.equals("lon") ? "impossible_coordinates" : "invalid_value");
    }
    return d;
  }

  private static void integer(JsonNode r, String name, long min, long max, boolean required) throws Rejected {
    JsonNode v = field(r, name, required);
    if (v == null) return;
    if (!v.isNumber()) throw new Rejected("wrong_type");
    if (!v.isIntegralNumber() && v.asDouble() != Math.rint(v.asDouble())) throw new Rejected("wrong_type");
    if (v.asDouble() < min || v.asDouble() > max) throw new Rejected("invalid_value");
  }

  private static void oneOf(JsonNode r, String name, Set<String> allowed, boolean required) throws Rejected {
    JsonNode v = field(r, name, required);
    if (v == null) return;
    if (!v.isTextual()) throw new Rejected("wrong_type");
    if (!allowed.contains(v.asText())) throw new Rejected("invalid_value");
  }

  private static long eventTime(JsonNode v) throws Rejected {
    if (v == null || v.isNull()) throw new Rejected("missing_field");
    if (v.isIntegralNumber()) return v.asLong();
    if (v.isTextual()) {
      try {
        return OffsetDateTime.parse(v.asText()).toInstant().toEpochMilli();
      } catch (Exception e) {
        throw new Rejected("invalid_value");
      }
    }
    throw new Rejected("wrong_type");
  }
}
