package cdcflow.bench;

import java.math.BigDecimal;
import java.math.BigInteger;
import org.apache.flink.table.annotation.DataTypeHint;
import org.apache.flink.table.functions.ScalarFunction;

/**
 * Debezium's {@code decimal.handling.mode=precise} sends a fixed-scale NUMERIC as the base64 of
 * its unscaled value (big-endian two's complement); Flink's JSON format reads that base64 into
 * BYTES but has no built-in to turn it into a DECIMAL, so a Flink user writes this UDF.
 */
public class DebeziumDecimal extends ScalarFunction {
  public @DataTypeHint("DECIMAL(10, 2)") BigDecimal eval(byte[] unscaled) {
    if (unscaled == null) {
      return null;
    }
    return new BigDecimal(new BigInteger(unscaled), 2);
  }
}
