package proxy

import (
	"net"

	proxyproto "github.com/pires/go-proxyproto"
)

// A Header is a PROXY protocol header as it came. It is this package's
// own type, not go-proxyproto's, on purpose: the parser is a dependency
// that may change its API or be replaced, and programs that read a
// header's TLVs (a cloud balancer's endpoint ID, say) should not have to
// change with it.
type Header struct {
	Version byte // 1 or 2
	// Local is true for the LOCAL command: the balancer's own connection
	// (a health check), whose addresses are its own.
	Local       bool
	Source      net.Addr // the original client, or nil
	Destination net.Addr // the address it connected to, or nil
	TLVs        []TLV    // version 2's type-length-value extensions
}

// A TLV is one type-length-value extension of a version 2 header.
type TLV struct {
	Type  byte
	Value []byte
}

func headerOf(h *proxyproto.Header) Header {
	out := Header{Version: h.Version, Local: !h.Command.IsProxy(), Source: h.SourceAddr, Destination: h.DestinationAddr}
	if tlvs, err := h.TLVs(); err == nil {
		for _, t := range tlvs {
			out.TLVs = append(out.TLVs, TLV{Type: byte(t.Type), Value: t.Value})
		}
	}
	return out
}
