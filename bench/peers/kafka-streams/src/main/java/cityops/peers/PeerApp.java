package cityops.peers;

import java.io.File;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The Kafka Streams peer of `npm run bench:peers`: the per-stream, per-district, per-minute counts that
 * city-ops computes, with exactly_once_v2, the same contract checks, the same district boundaries (JTS),
 * de-duplication by id and the same lateness bound.
 *
 * Arguments (key=value): bootstrap, username, password, app, topics (stream:topic,...), output, districts
 * (a WGS84 GeoJSON file), state (a folder), threads. It prints a JSON line of its counters every 2 s.
 */
public final class PeerApp {
  static final Duration WINDOW = Duration.ofMinutes(1);
  /** city-ops closes a window when its watermark (largest event time - 5 s) passes the end by 5 s. */
  static final Duration GRACE = Duration.ofSeconds(10);
  /** How long an id is remembered: duplicates arrive within seconds; a window and its grace, with room. */
  static final Duration DEDUP = Duration.ofMinutes(10);

  static final LongAdder CONSUMED = new LongAdder();
  static final LongAdder ACCEPTED = new LongAdder();
  static final LongAdder DUPLICATES = new LongAdder();

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new java.util.HashMap<>();
    for (String arg : args) a.put(arg.substring(0, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
    Districts districts = new Districts(new File(a.get("districts")));
    StreamsBuilder builder = new StreamsBuilder();
    KStream<String, String> counted = null;
    for (String pair : a.get("topics").split(",")) {
      String stream = pair.substring(0, pair.indexOf(':'));
      String topic = pair.substring(pair.indexOf(':') + 1);
      String store = "seen-" + stream;
      builder.addStateStore(
          Stores.windowStoreBuilder(
              Stores.persistentWindowStore(store, DEDUP, DEDUP, false), Serdes.String(), Serdes.Long()));
      KStream<String, String> accepted =
          builder.stream(topic, Consumed.with(Serdes.String(), Serdes.ByteArray()))
              .process(() -> new Accept(stream, store, districts), store);
      counted = counted == null ? accepted : counted.merge(accepted);
    }
    counted
        .groupByKey(Grouped.with("by-district", Serdes.String(), Serdes.String()))
        .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW, GRACE))
        .count(Materialized.as("district-minute"))
        .toStream()
        .map((w, n) -> KeyValue.pair(w.key() + "|" + w.window().start(), Long.toString(n)))
        .to(a.get("output"), Produced.with(Serdes.String(), Serdes.String()));

    KafkaStreams streams = new KafkaStreams(builder.build(), config(a));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(20));
      stopped.countDown();
    }));
    streams.setUncaughtExceptionHandler(e -> {
      System.err.println("kafka-streams peer: " + e);
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse
          .SHUTDOWN_CLIENT;
    });
    streams.start();
    while (!stopped.await(2, java.util.concurrent.TimeUnit.SECONDS)) report(streams.state().toString());
  }

  static Properties config(Map<String, String> a) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, a.get("app"));
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, Integer.parseInt(a.getOrDefault("threads", "2")));
    p.put(StreamsConfig.STATE_DIR_CONFIG, a.get("state"));
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    p.put("auto.offset.reset", "earliest");
    p.put("security.protocol", "SASL_PLAINTEXT");
    p.put("sasl.mechanism", "SCRAM-SHA-512");
    p.put(
        "sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
            + a.get("username") + "\" password=\"" + a.get("password") + "\";");
    return p;
  }

  static void report(String state) {
    StringBuilder rejected = new StringBuilder("{");
    Contract.rejectedCounts().forEach((reason, n) -> {
      if (rejected.length() > 1) rejected.append(',');
      rejected.append('"').append(reason).append("\":").append(n);
    });
    rejected.append('}');
    System.out.println(
        "{\"state\":\"" + state + "\",\"consumed\":" + CONSUMED.sum() + ",\"accepted\":" + ACCEPTED.sum()
            + ",\"duplicates\":" + DUPLICATES.sum() + ",\"rejected\":" + rejected + "}");
  }

  /** Contract check, district, de-duplication by id; forwards (stream|district, id) at the event time. */
  static final class Accept implements Processor<String, byte[], String, String> {
    private final String stream;
    private final String storeName;
    private final Districts districts;
    private ProcessorContext<String, String> context;
    private WindowStore<String, Long> seen;

    Accept(String stream, String storeName, Districts districts) {
      this.stream = stream;
      this.storeName = storeName;
      this.districts = districts;
    }

    @Override
    public void init(ProcessorContext<String, String> context) {
      this.context = context;
      this.seen = context.getStateStore(storeName);
    }

    @Override
    public void process(Record<String, byte[]> record) {
      CONSUMED.increment();
      Contract.Accepted r =
          Contract.accept(stream, record.value(), record.timestamp(), System.currentTimeMillis());
      if (r == null) return;
      try (var earlier = seen.fetch(r.id(), r.ts() - DEDUP.toMillis(), r.ts() + DEDUP.toMillis())) {
        if (earlier.hasNext()) {
          DUPLICATES.increment();
          return;
        }
      }
      seen.put(r.id(), r.ts(), r.ts());
      ACCEPTED.increment();
      String district = districts.lookup(r.lon(), r.lat());
      context.forward(new Record<>(stream + "|" + district, r.id(), r.ts()));
    }
  }
}
