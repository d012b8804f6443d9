package org.sagespark.bridge

import java.io.{File, FileOutputStream}
import java.nio.{ByteBuffer, ByteOrder}
import java.nio.channels.FileChannel

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

  /** Every element of `values` as float32: the bulk path of dense rows (one bounds check a block). */
  def putFloats(values: Array[Double]): Unit = {
    var from = 0
    while (from < values.length) {
      room(4)
      val upto = math.min(values.length, from + buffer.remaining / 4)
      var at = buffer.position()
      var j = from
      while (j < upto) { buffer.putFloat(at, values(j).toFloat); at += 4; j += 1 }
      buffer.position(at)
      from = upto
    }
  }

  /** Every element of `values`: the bulk path of sparse rows' indices. */
  def putInts(values: Array[Int]): Unit = {
    var from = 0
    while (from < values.length) {
      room(4)
      val upto = math.min(values.length, from + buffer.remaining / 4)
      var at = buffer.position()
      var j = from
      while (j < upto) { buffer.putInt(at, values(j)); at += 4; j += 1 }
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
