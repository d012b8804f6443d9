package org.sagespark.bridge

import java.io.{File, FileOutputStream}
import java.nio.{ByteBuffer, ByteOrder}
import java.nio.channels.FileChannel

import org.apache.spark.sql.catalyst.util.ArrayData

/** One section of a training shard: a file of little-endian numbers, written through a direct buffer.
  *
  * The Python side reads a section with one `numpy.fromfile`, so a section holds nothing but values of a
  * single type, back to back.
  */
private[bridge] final class ShardSection(val file: File) extends AutoCloseable {
  private val channel: FileChannel = new FileOutputStream(file).getChannel
  private val buffer: ByteBuffer = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN)
  private var written: Long = 0L

  private def room(bytes: Int): Unit = if (buffer.remaining < bytes) drain()

  private def drain(): Unit = {
    buffer.flip()
    while (buffer.hasRemaining) written += channel.write(buffer)
    buffer.clear()
  }

  def putByte(v: Byte): Unit = { room(1); buffer.put(v) }
  def putInt(v: Int): Unit = { room(4); buffer.putInt(v) }
  def putLong(v: Long): Unit = { room(8); buffer.putLong(v) }
  def putFloat(v: Float): Unit = { room(4); buffer.putFloat(v) }
  def putDouble(v: Double): Unit = { room(8); buffer.putDouble(v) }

  /** Every element of a double array as float32: the bulk path of a vector's values. Read in place:
    * copying each row's array out first (`toDoubleArray`) allocated per row.
    */
  def putFloats(values: ArrayData): Unit =
    bulk(values.numElements(), 4)((at, j) => buffer.putFloat(at, values.getDouble(j).toFloat))

  /** Every element of an int array: the bulk path of a sparse vector's indices, read in place. */
  def putInts(values: ArrayData): Unit =
    bulk(values.numElements(), 4)((at, j) => buffer.putInt(at, values.getInt(j)))

  /** `count` values of `width` bytes each; `put(at, j)` stores value `j` at buffer offset `at`. Absolute
    * puts within a block that is known to fit skip the per-value bounds check of relative puts.
    */
  private def bulk(count: Int, width: Int)(put: (Int, Int) => Unit): Unit = {
    var from = 0
    while (from < count) {
      room(width)
      val upto = math.min(count, from + buffer.remaining / width)
      var at = buffer.position()
      var j = from
      while (j < upto) { put(at, j); at += width; j += 1 }
      buffer.position(at)
      from = upto
    }
  }

  /** Bytes in the file once closed. */
  def size: Long = written + buffer.position()

  override def close(): Unit = {
    drain()
    channel.close()
  }
}
