package body

import (
	"fmt"

	"github.com/rocketgo/rocketgo/internal/jsonstr"
)

// ClusterInfo is the body of a GET_BROKER_CLUSTER_INFO (106) response: every broker
// group the namesrv knows, and which broker groups form each cluster.
//
//	{"brokerAddrTable":{"broker-a":{"brokerAddrs":{"0":"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"C"}},"clusterAddrTable":{"C":["broker-a"]}}
type ClusterInfo struct {
	BrokerAddrTable  map[string]BrokerData // brokerName → broker group
	ClusterAddrTable map[string][]string   // clusterName → brokerNames
}

// Encode returns the cluster info as compact JSON: keys sorted, brokerAddrs in the
// same quoted, whitespace-free form as a route, lists in the order given (the
// namesrv sorts them).
func (c *ClusterInfo) Encode() []byte {
	dst := make([]byte, 0, 64+96*len(c.BrokerAddrTable))
	dst = append(dst, `{"brokerAddrTable":{`...)
	for i, name := range sortedKeys(c.BrokerAddrTable) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, name)
		dst = append(dst, ':')
		bd := c.BrokerAddrTable[name]
		dst = bd.appendJSON(dst)
	}
	dst = append(dst, `},"clusterAddrTable":`...)
	dst = appendStringListMap(dst, c.ClusterAddrTable)
	return append(dst, '}')
}

type clusterInfoJSON struct {
	BrokerAddrTable  map[string]brokerDataJSON `json:"brokerAddrTable"`
	ClusterAddrTable map[string][]string       `json:"clusterAddrTable"`
}

// DecodeClusterInfo parses a cluster info body, from rocketgo or from a Java namesrv
// (whose brokerAddrs keys are bare numbers). Maps and lists are never nil.
func DecodeClusterInfo(data []byte) (*ClusterInfo, error) {
	var cj clusterInfoJSON
	if err := decodeJSONObject(data, &cj); err != nil {
		return nil, fmt.Errorf("cluster info: %w", err)
	}
	c := &ClusterInfo{
		BrokerAddrTable:  make(map[string]BrokerData, len(cj.BrokerAddrTable)),
		ClusterAddrTable: nonNilListMap(cj.ClusterAddrTable),
	}
	for name, bj := range cj.BrokerAddrTable {
		bd, err := bj.toBrokerData()
		if err != nil {
			return nil, fmt.Errorf("cluster info: brokerAddrTable[%q]: %w", name, err)
		}
		c.BrokerAddrTable[name] = bd
	}
	return c, nil
}
