package socketserver

import (
	"bufio"
	"bytes"
	"io"
	"sync"
)

// bufferPools recycles a server's per-request buffers. The sizes are the
// server's, fixed while it serves.
type bufferPools struct {
	readers sync.Pool // *bufio.Reader
	writers sync.Pool // *bufio.Writer
	dgrams  sync.Pool // *datagramIO
	packets sync.Pool // *[]byte
}

// datagramIO is the reader and reply buffer of a datagram request.
type datagramIO struct {
	packet bytes.Reader
	reader *bufio.Reader
	reply  bytes.Buffer
}

// maxPooledReply is the largest reply buffer kept for reuse.
const maxPooledReply = 64 << 10

func (p *bufferPools) getReader(r io.Reader, size int) *bufio.Reader {
	if v := p.readers.Get(); v != nil {
		br := v.(*bufio.Reader)
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, size)
}

func (p *bufferPools) putReader(br *bufio.Reader) {
	br.Reset(nil)
	p.readers.Put(br)
}

func (p *bufferPools) getWriter(w io.Writer, size int) *bufio.Writer {
	if v := p.writers.Get(); v != nil {
		bw := v.(*bufio.Writer)
		bw.Reset(w)
		return bw
	}
	return bufio.NewWriterSize(w, size)
}

func (p *bufferPools) putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	p.writers.Put(bw)
}

func (p *bufferPools) getDatagramIO(packet []byte, size int) *datagramIO {
	d, _ := p.dgrams.Get().(*datagramIO)
	if d == nil {
		d = &datagramIO{}
		d.reader = bufio.NewReaderSize(&d.packet, size)
	}
	d.packet.Reset(packet)
	d.reader.Reset(&d.packet)
	return d
}

func (p *bufferPools) putDatagramIO(d *datagramIO) {
	if d.reply.Cap() > maxPooledReply {
		return
	}
	d.reply.Reset()
	d.packet.Reset(nil)
	p.dgrams.Put(d)
}

func (p *bufferPools) getPacket(size int) *[]byte {
	if v := p.packets.Get(); v != nil {
		return v.(*[]byte)
	}
	b := make([]byte, size)
	return &b
}

func (p *bufferPools) putPacket(b *[]byte) {
	if b != nil {
		p.packets.Put(b)
	}
}
