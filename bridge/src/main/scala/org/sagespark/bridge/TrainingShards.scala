package org.sagespark.bridge

import java.io.File
import java.nio.file.{Files, Path}
import java.util.Comparator

import org.apache.spark.TaskContext
import org.apache.spark.api.java.JavaRDD
import org.apache.spark.ml.linalg.SQLDataTypes
import org.apache.spark.sql.DataFrame
import org.apache.spark.sql.catalyst.InternalRow
import org.apache.spark.sql.catalyst.util.ArrayData
import org.apache.spark.sql.types._

/** Hands a DataFrame's partitions to sagespark's training workers as flat files, bypassing Arrow.
  *
  * `export(df, partitions, reuse)` returns an RDD of strings, one per partition (of `df`, or of `df`
  * spread over `partitions`): a JSON manifest of files the same task wrote to its executor's temporary
  * directory while computing that element. A barrier stage over the result (sagespark's training stage,
  * a plain Python RDD stage: no SQL planning and no Arrow for one string per task) therefore reads each
  * partition in the task that wrote it, on the same machine, without a shuffle. Each input column
  * becomes a few "sections" of raw little-endian numbers:
  *
  *  - vector columns (`VectorUDT`) and numeric arrays: `type` (int8 per row: 1 dense, 0 sparse,
  *    -1 null), `size` (int32), `count` (int32, values stored in the row), `indices` (int32, sparse rows
  *    only) and `values` (float32, what the algorithms train on);
  *  - numeric columns: `valid` (int8) and `value` (float64).
  *
  * That is the layout of Spark's own Arrow encoding of vectors, so the Python side rebuilds the same
  * Arrow arrays from the sections (zero copy) and decodes them exactly as it decodes `mapInArrow`
  * batches: every row check and error message stays in one place. The files are deleted when the task
  * completes, whatever happens to it.
  */
object TrainingShards {

  private sealed trait Kind { def name: String }
  private case object VectorKind extends Kind { val name = "vector" }
  private case object ArrayKind extends Kind { val name = "array" }
  private case object NumberKind extends Kind { val name = "double" }

  private final case class Column(name: String, ordinal: Int, kind: Kind, dataType: DataType)

  /** Whether every column of `schema` can travel as a shard (vectors, numeric arrays, numbers). */
  def supports(schema: StructType): Boolean = schema.fields.forall(f => kindOf(f.dataType).isDefined)

  /** `df` spread over `partitions` partitions and written as shards; one JSON manifest per partition.
    *
    * With `reuse`, a `df` that already has `partitions` partitions keeps them (a cached or generated
    * DataFrame laid out for the fit: no shuffle); otherwise, or when its partition count differs, the
    * rows are repartitioned round-robin. Deciding here plans `df` once, where asking from Python for its
    * partition count first planned it a second time (~40 ms per fit).
    *
    * @throws IllegalArgumentException if a column is neither a vector, a numeric array nor a number, or
    *                                  `partitions` is not positive
    */
  def export(df: DataFrame, partitions: Int, reuse: Boolean): JavaRDD[String] = {
    require(partitions > 0, s"partitions must be positive; got $partitions.")
    val columns = df.schema.fields.zipWithIndex.map { case (f, i) =>
      val kind = kindOf(f.dataType).getOrElse(throw new IllegalArgumentException(
        s"Column '${f.name}' has type ${f.dataType.simpleString}; training shards hold vectors, " +
          "numeric arrays and numbers."))
      Column(f.name, i, kind, f.dataType)
    }
    val planned = df.queryExecution.toRdd
    val input = if (reuse && planned.getNumPartitions == partitions) planned
      else df.repartition(partitions).queryExecution.toRdd
    input.mapPartitions(rows => Iterator.single(writeShard(rows, columns))).toJavaRDD()
  }

  private def kindOf(dataType: DataType): Option[Kind] = dataType match {
    case t if t == SQLDataTypes.VectorType => Some(VectorKind)
    case ArrayType(_: NumericType, _) => Some(ArrayKind)
    case _: NumericType => Some(NumberKind)
    case _ => None
  }

  private def writeShard(rows: Iterator[InternalRow], columns: Array[Column]): String = {
    val dir = Files.createTempDirectory("sagespark-shard-")
    // The training task reads the files and is done with them when the task ends, failed or not.
    Option(TaskContext.get()).foreach(_.addTaskCompletionListener[Unit](_ => deleteTree(dir)))
    val writers = columns.map(c => new ColumnWriter(c, dir.toFile))
    var n = 0L
    try {
      while (rows.hasNext) {
        val row = rows.next()
        var i = 0
        while (i < writers.length) { writers(i).add(row); i += 1 }
        n += 1
      }
    } finally writers.foreach(_.close())
    manifest(dir, n, writers)
  }

  private def manifest(dir: Path, rows: Long, writers: Array[ColumnWriter]): String = {
    val cols = writers.map(_.json).mkString(",")
    s"""{"dir":${quote(dir.toString)},"rows":$rows,"columns":[$cols]}"""
  }

  private[bridge] def quote(s: String): String = {
    val b = new StringBuilder("\"")
    s.foreach {
      case '"' => b.append("\\\"")
      case '\\' => b.append("\\\\")
      case c if c < ' ' => b.append(f"\\u${c.toInt}%04x")
      case c => b.append(c)
    }
    b.append('"').toString
  }

  private def deleteTree(dir: Path): Unit = {
    if (Files.exists(dir)) {
      val walk = Files.walk(dir)
      try walk.sorted(Comparator.reverseOrder[Path]()).forEach(p => Files.deleteIfExists(p))
      finally walk.close()
    }
  }

  /** Writes one column's sections, row by row. */
  private final class ColumnWriter(column: Column, dir: File) extends AutoCloseable {
    private val sections: Seq[(String, ShardSection)] = {
      val names = column.kind match {
        case NumberKind => Seq("valid", "value")
        case VectorKind => Seq("type", "size", "count", "indices", "values")
        case ArrayKind => Seq("type", "size", "count", "values", "nulls")
      }
      names.map(s => s -> new ShardSection(new File(dir, s"${column.ordinal}.$s")))
    }
    private val byName = sections.toMap
    private val numberOf: (InternalRow, Int) => Double = column.dataType match {
      case ByteType => (r, i) => r.getByte(i).toDouble
      case ShortType => (r, i) => r.getShort(i).toDouble
      case IntegerType => (r, i) => r.getInt(i).toDouble
      case LongType => (r, i) => r.getLong(i).toDouble
      case FloatType => (r, i) => r.getFloat(i).toDouble
      case DoubleType => (r, i) => r.getDouble(i)
      case d: DecimalType => (r, i) => r.getDecimal(i, d.precision, d.scale).toDouble
      case _ => (_, _) => Double.NaN
    }
    private val elementOf: (ArrayData, Int) => Float = column.dataType match {
      case ArrayType(ByteType, _) => (a, j) => a.getByte(j).toFloat
      case ArrayType(ShortType, _) => (a, j) => a.getShort(j).toFloat
      case ArrayType(IntegerType, _) => (a, j) => a.getInt(j).toFloat
      case ArrayType(LongType, _) => (a, j) => a.getLong(j).toFloat
      case ArrayType(FloatType, _) => (a, j) => a.getFloat(j)
      case ArrayType(d: DecimalType, _) => (a, j) => a.getDecimal(j, d.precision, d.scale).toFloat
      case _ => (a, j) => a.getDouble(j).toFloat
    }
    // Looked up once: add() runs per row.
    private val List(tpe, size, count, indices, values, nulls, valid, value) =
      List("type", "size", "count", "indices", "values", "nulls", "valid", "value").map(byName.getOrElse(_, null))
    private var stored = 0L // values written so far: where the next null element of an array sits

    def add(row: InternalRow): Unit = column.kind match {
      case NumberKind =>
        val present = !row.isNullAt(column.ordinal)
        valid.putByte(if (present) 1 else 0)
        value.putDouble(if (present) numberOf(row, column.ordinal) else Double.NaN)
      case VectorKind =>
        if (row.isNullAt(column.ordinal)) missing()
        else {
          val v = row.getStruct(column.ordinal, 4)
          val sparse = v.getByte(0) == 0
          val vals = v.getArray(3)
          val k = vals.numElements()
          tpe.putByte(if (sparse) 0 else 1)
          size.putInt(if (sparse) v.getInt(1) else k)
          count.putInt(k)
          if (sparse) indices.putInts(v.getArray(2))
          values.putFloats(vals)
        }
      case ArrayKind =>
        if (row.isNullAt(column.ordinal)) missing()
        else {
          val a = row.getArray(column.ordinal)
          val k = a.numElements()
          tpe.putByte(1)
          size.putInt(k)
          count.putInt(k)
          var j = 0
          while (j < k) {
            if (a.isNullAt(j)) {
              nulls.putLong(stored + j)
              values.putFloat(Float.NaN)
            } else values.putFloat(elementOf(a, j))
            j += 1
          }
          stored += k
        }
    }

    private def missing(): Unit = {
      tpe.putByte(-1)
      size.putInt(-1)
      count.putInt(0)
    }

    def json: String = {
      val files = sections.map { case (s, w) => s"${quote(s)}:${quote(w.file.getName)}" }.mkString(",")
      s"""{"name":${quote(column.name)},"kind":${quote(column.kind.name)},"files":{$files}}"""
    }

    override def close(): Unit = sections.foreach(_._2.close())
  }
}
