package main

import (
	"encoding/json"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// cluster is the synthetic snapshot both sides of the differential suite schedule against.
type cluster struct {
	Nodes      []*v1.Node `json:"nodes"`
	Pod        *v1.Pod    `json:"pod"`
	RunningPod *v1.Pod    `json:"runningPod"`
}

func readCluster(path string) (*cluster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c cluster
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	if len(c.Nodes) == 0 || c.Pod == nil || c.RunningPod == nil {
		return nil, fmt.Errorf("%s needs nodes, pod and runningPod", path)
	}
	return &c, nil
}

// nodeInfos are the framework's view of the nodes; the running pod sits on its node.
func (c *cluster) nodeInfos() []*framework.NodeInfo {
	infos := make([]*framework.NodeInfo, 0, len(c.Nodes))
	for _, node := range c.Nodes {
		var info *framework.NodeInfo
		if c.RunningPod.Spec.NodeName == node.Name {
			info = framework.NewNodeInfo(c.RunningPod)
		} else {
			info = framework.NewNodeInfo()
		}
		info.SetNode(node)
		infos = append(infos, info)
	}
	return infos
}

func (c *cluster) nodeNames() []string {
	names := make([]string, 0, len(c.Nodes))
	for _, node := range c.Nodes {
		names = append(names, node.Name)
	}
	return names
}
