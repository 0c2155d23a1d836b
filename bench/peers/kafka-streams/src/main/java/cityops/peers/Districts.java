package cityops.peers;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.locationtech.jts.geom.Coordinate;
import org.locationtech.jts.geom.Geometry;
import org.locationtech.jts.geom.GeometryFactory;
import org.locationtech.jts.geom.LinearRing;
import org.locationtech.jts.geom.Polygon;
import org.locationtech.jts.geom.prep.PreparedGeometry;
import org.locationtech.jts.geom.prep.PreparedGeometryFactory;

/**
 * Point -> district with JTS, over the same WGS84 boundaries city-ops uses (the bench writes them from
 * engine/geo/shenzhenDistricts.ts). The first district, in the file's order, that covers the point wins,
 * as in city-ops' DistrictIndex; none: "outside".
 */
final class Districts {
  private static final GeometryFactory GEOMETRY = new GeometryFactory();
  private final List<String> codes = new ArrayList<>();
  private final List<PreparedGeometry> areas = new ArrayList<>();

  Districts(File geojson) throws IOException {
    JsonNode collection = new ObjectMapper().readTree(geojson);
    for (JsonNode feature : collection.get("features")) {
      JsonNode geometry = feature.get("geometry");
      List<Polygon> polygons = new ArrayList<>();
      if (geometry.get("type").asText().equals("Polygon")) {
        polygons.add(polygon(geometry.get("coordinates")));
      } else {
        for (JsonNode p : geometry.get("coordinates")) polygons.add(polygon(p));
      }
      Geometry area = GEOMETRY.createMultiPolygon(polygons.toArray(new Polygon[0]));
      codes.add(feature.get("id").asText());
      areas.add(PreparedGeometryFactory.prepare(area));
    }
  }

  String lookup(double lon, double lat) {
    var point = GEOMETRY.createPoint(new Coordinate(lon, lat));
    for (int i = 0; i < areas.size(); i++) if (areas.get(i).covers(point)) return codes.get(i);
    return "outside";
  }

  private static Polygon polygon(JsonNode rings) {
    LinearRing shell = ring(rings.get(0));
    LinearRing[] holes = new LinearRing[rings.size() - 1];
    for (int i = 1; i < rings.size(); i++) holes[i - 1] = ring(rings.get(i));
    return GEOMETRY.createPolygon(shell, holes);
  }

  private static LinearRing ring(JsonNode points) {
    Coordinate[] coordinates = new Coordinate[points.size()];
    for (int i = 0; i < points.size(); i++) {
      coordinates[i] = new Coordinate(points.get(i).get(0).asDouble(), points.get(i).get(1).asDouble());
    }
    return GEOMETRY.createLinearRing(coordinates);
  }
}
