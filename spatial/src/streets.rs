//! Walking distances along a street network: officers walk streets, not straight lines through
//! blocks. Street lines become a graph whose nodes are their vertices (vertices within about a
//! centimetre are one junction) and whose edges are their segments, weighted by geodesic length.
//! A position joins the network at the nearest point of the nearest segment (a straight walk,
//! counted), and shortest paths are found with Dijkstra's algorithm.
//!
//! Only the largest connected part of the network is used for joining, so that every pair of
//! positions has a route: an isolated fragment (a footpath inside a compound, drawn unconnected)
//! would otherwise make stops unreachable. With no streets at all, distances are geodesic.

use crate::geodesy::distance_m;
use crate::planning::{Distances, Geodesic};
use geo::{Coord, LineString};
use rstar::primitives::{GeomWithData, Line};
use rstar::RTree;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

/// A street line as imported (a way, a centreline segment).
#[derive(Debug, Clone, PartialEq)]
pub struct Street {
    pub name: Option<String>,
    pub line: LineString<f64>,
}

/// A street network, ready for shortest paths.
pub struct StreetNetwork {
    nodes: Vec<Coord<f64>>,
    /// Per node: (neighbour, metres).
    edges: Vec<Vec<(usize, f64)>>,
    /// Segments of the largest connected part, in scaled degrees (x · cos φ₀, y), for snapping.
    segments: RTree<Segment>,
    /// cos φ₀ of the network's mean latitude: makes degree distances roughly isotropic.
    x_scale: f64,
}

/// A street segment in scaled degrees, with the nodes at its ends.
type Segment = GeomWithData<Line<[f64; 2]>, (usize, usize)>;

/// Where a position joins the network: on the segment from node `a` to node `b`, at `at`.
#[derive(Debug, Clone, Copy)]
struct Join {
    a: usize,
    b: usize,
    at: Coord<f64>,
    /// Straight walk from the position to `at`, and from `at` to each end of the segment.
    access: f64,
    to_a: f64,
    to_b: f64,
}

/// A min-heap entry for Dijkstra.
#[derive(PartialEq)]
struct Entry(f64, usize);

impl Eq for Entry {}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.total_cmp(&self.0).then(other.1.cmp(&self.1))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Vertices this close (1e-7°, about a centimetre) are the same junction.
const SNAP_DEGREES: f64 = 1e-7;

impl StreetNetwork {
    pub fn new<'a>(lines: impl IntoIterator<Item = &'a LineString<f64>>) -> Self {
        let mut ids: HashMap<(i64, i64), usize> = HashMap::new();
        let mut nodes = Vec::new();
        let mut edges: Vec<Vec<(usize, f64)>> = Vec::new();
        let mut node = |c: Coord<f64>, nodes: &mut Vec<Coord<f64>>, edges: &mut Vec<Vec<(usize, f64)>>| {
            let key = ((c.x / SNAP_DEGREES).round() as i64, (c.y / SNAP_DEGREES).round() as i64);
            *ids.entry(key).or_insert_with(|| {
                nodes.push(c);
                edges.push(Vec::new());
                nodes.len() - 1
            })
        };
        for line in lines {
            let finite: Vec<Coord<f64>> =
                line.0.iter().copied().filter(|c| c.x.is_finite() && c.y.is_finite()).collect();
            for pair in finite.windows(2) {
                let (a, b) = (node(pair[0], &mut nodes, &mut edges), node(pair[1], &mut nodes, &mut edges));
                if a == b {
                    continue;
                }
                let metres = distance_m(nodes[a].into(), nodes[b].into());
                edges[a].push((b, metres));
                edges[b].push((a, metres));
            }
        }
        let mean_lat = if nodes.is_empty() { 0.0 } else { nodes.iter().map(|c| c.y).sum::<f64>() / nodes.len() as f64 };
        let x_scale = mean_lat.to_radians().cos().max(0.01);
        let largest = largest_component(&edges);
        let mut pieces = Vec::new();
        for (a, neighbours) in edges.iter().enumerate() {
            if !largest[a] {
                continue;
            }
            for &(b, _) in neighbours.iter().filter(|&&(b, _)| a < b) {
                let scaled = |c: Coord<f64>| [c.x * x_scale, c.y];
                pieces.push(GeomWithData::new(Line::new(scaled(nodes[a]), scaled(nodes[b])), (a, b)));
            }
        }
        Self { nodes, edges, segments: RTree::bulk_load(pieces), x_scale }
    }

    /// Number of junctions and vertices.
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    /// Number of street segments that positions can join.
    pub fn segments(&self) -> usize {
        self.segments.size()
    }

    fn join(&self, p: Coord<f64>) -> Option<Join> {
        let found = self.segments.nearest_neighbor(&[p.x * self.x_scale, p.y])?;
        let (a, b) = found.data;
        let near = found.geom().nearest_point(&[p.x * self.x_scale, p.y]);
        let at = Coord { x: near[0] / self.x_scale, y: near[1] };
        Some(Join {
            a,
            b,
            at,
            access: distance_m(p.into(), at.into()),
            to_a: distance_m(at.into(), self.nodes[a].into()),
            to_b: distance_m(at.into(), self.nodes[b].into()),
        })
    }

    /// Shortest distances from a join to every node, and each node's predecessor.
    fn dijkstra(&self, from: &Join) -> (Vec<f64>, Vec<usize>) {
        let n = self.nodes.len();
        let (mut dist, mut previous) = (vec![f64::INFINITY; n], vec![usize::MAX; n]);
        let mut heap = BinaryHeap::new();
        for (node, d) in [(from.a, from.to_a), (from.b, from.to_b)] {
            if d < dist[node] {
                dist[node] = d;
                heap.push(Entry(d, node));
            }
        }
        while let Some(Entry(d, u)) = heap.pop() {
            if d > dist[u] {
                continue;
            }
            for &(v, w) in &self.edges[u] {
                if d + w < dist[v] {
                    dist[v] = d + w;
                    previous[v] = u;
                    heap.push(Entry(d + w, v));
                }
            }
        }
        (dist, previous)
    }

    /// The walk between two joins given the distances from the first: its length along the
    /// streets, and the end node it arrives by (`None`: straight along their shared segment).
    fn walk(dist: &[f64], from: &Join, to: &Join) -> (f64, Option<usize>) {
        let via_a = dist[to.a] + to.to_a;
        let via_b = dist[to.b] + to.to_b;
        let mut best = if via_a <= via_b { (via_a, Some(to.a)) } else { (via_b, Some(to.b)) };
        let same_segment = (from.a, from.b) == (to.a, to.b) || (from.a, from.b) == (to.b, to.a);
        if same_segment {
            let direct = distance_m(from.at.into(), to.at.into());
            if direct <= best.0 {
                best = (direct, None);
            }
        }
        best
    }

    /// The route from `a` to `b`: its length in metres and its line (a, the streets walked, b).
    pub fn route(&self, a: Coord<f64>, b: Coord<f64>) -> (f64, Vec<Coord<f64>>) {
        let (Some(from), Some(to)) = (self.join(a), self.join(b)) else {
            return (Geodesic.metres(a, b), vec![a, b]);
        };
        let (dist, previous) = self.dijkstra(&from);
        let (along, arrive) = Self::walk(&dist, &from, &to);
        let mut middle = Vec::new();
        if let Some(mut node) = arrive {
            while node != usize::MAX {
                middle.push(self.nodes[node]);
                node = previous[node];
            }
            middle.reverse();
        }
        let mut line = vec![a, from.at];
        line.extend(middle);
        line.extend([to.at, b]);
        // A position on a junction joins it exactly, up to float noise: one vertex, not two.
        line.dedup_by(|next, kept| (next.x - kept.x).abs() < 1e-9 && (next.y - kept.y).abs() < 1e-9);
        (from.access + along + to.access, line)
    }
}

/// Marks the nodes of the largest connected part.
fn largest_component(edges: &[Vec<(usize, f64)>]) -> Vec<bool> {
    let mut part = vec![usize::MAX; edges.len()];
    let mut sizes = Vec::new();
    for start in 0..edges.len() {
        if part[start] != usize::MAX {
            continue;
        }
        let label = sizes.len();
        let (mut stack, mut size) = (vec![start], 0);
        part[start] = label;
        while let Some(u) = stack.pop() {
            size += 1;
            for &(v, _) in &edges[u] {
                if part[v] == usize::MAX {
                    part[v] = label;
                    stack.push(v);
                }
            }
        }
        sizes.push(size);
    }
    let biggest = (0..sizes.len()).max_by_key(|&l| sizes[l]);
    part.iter().map(|&p| Some(p) == biggest).collect()
}

impl Distances for StreetNetwork {
    fn metres(&self, a: Coord<f64>, b: Coord<f64>) -> f64 {
        self.route(a, b).0
    }

    /// One Dijkstra per position, not per pair.
    fn matrix(&self, positions: &[Coord<f64>]) -> Vec<f64> {
        let n = positions.len();
        let joins: Vec<Option<Join>> = positions.iter().map(|&p| self.join(p)).collect();
        let mut matrix = vec![0.0; n * n];
        for i in 0..n {
            let Some(from) = &joins[i] else {
                for j in 0..n {
                    matrix[i * n + j] = Geodesic.metres(positions[i], positions[j]);
                }
                continue;
            };
            let (dist, _) = self.dijkstra(from);
            for j in (0..n).filter(|&j| j != i) {
                matrix[i * n + j] = match &joins[j] {
                    Some(to) => from.access + Self::walk(&dist, from, to).0 + to.access,
                    None => Geodesic.metres(positions[i], positions[j]),
                };
            }
        }
        // Walking is the same both ways; averaging removes float noise between the two runs.
        for i in 0..n {
            for j in (i + 1)..n {
                let m = (matrix[i * n + j] + matrix[j * n + i]) / 2.0;
                matrix[i * n + j] = m;
                matrix[j * n + i] = m;
            }
        }
        matrix
    }

    fn path(&self, a: Coord<f64>, b: Coord<f64>) -> Vec<Coord<f64>> {
        self.route(a, b).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::line_string;

    fn c(x: f64, y: f64) -> Coord<f64> {
        Coord { x, y }
    }

    #[test]
    fn a_walk_across_blocks_follows_the_streets() {
        // Streets meet where they share a vertex (a junction); a crossing without one is a
        // bridge or a tunnel. These blocks are drawn split at every junction.
        let net = StreetNetwork::new(&split_blocks());
        let (a, b) = (c(116.40, 39.90), c(116.406, 39.906));
        let (metres, line) = net.route(a, b);
        let manhattan = distance_m(a.into(), c(116.406, 39.90).into()) + distance_m(c(116.406, 39.90).into(), b.into());
        assert!((metres - manhattan).abs() < 0.5, "{metres} vs {manhattan}");
        assert!(metres > Geodesic.metres(a, b) * 1.35, "longer than the straight line");
        let drawn: f64 = line.windows(2).map(|w| distance_m(w[0].into(), w[1].into())).sum();
        assert!((drawn - metres).abs() < 0.01, "the line measures what the route says");
    }

    fn split_blocks() -> Vec<LineString<f64>> {
        let mut lines = Vec::new();
        for k in 0..4 {
            let v = 0.002 * f64::from(k);
            for s in 0..3 {
                let (u0, u1) = (0.002 * f64::from(s), 0.002 * f64::from(s + 1));
                lines.push(line_string![(x: 116.40 + v, y: 39.90 + u0), (x: 116.40 + v, y: 39.90 + u1)]);
                lines.push(line_string![(x: 116.40 + u0, y: 39.90 + v), (x: 116.40 + u1, y: 39.90 + v)]);
            }
        }
        lines
    }

    #[test]
    fn positions_off_the_street_walk_to_it_and_a_shared_segment_is_walked_directly() {
        let net = StreetNetwork::new(&split_blocks());
        // Two doors on the same block face, 10 m off the street.
        let off = 10.0 / 111_000.0;
        let (a, b) = (c(116.4005, 39.90 - off), c(116.4015, 39.90 - off));
        let (metres, line) = net.route(a, b);
        let expected = 2.0 * distance_m(a.into(), c(116.4005, 39.90).into())
            + distance_m(c(116.4005, 39.90).into(), c(116.4015, 39.90).into());
        assert!((metres - expected).abs() < 0.05, "{metres} vs {expected}");
        assert_eq!(line.len(), 4, "{line:?}");
    }

    #[test]
    fn the_matrix_agrees_with_single_routes_and_fragments_are_not_joined() {
        let mut lines = split_blocks();
        // A lone footpath far from everything: never joined, so nothing is unreachable.
        lines.push(line_string![(x: 116.50, y: 39.95), (x: 116.5001, y: 39.95)]);
        let net = StreetNetwork::new(&lines);
        let points = [c(116.4011, 39.9033), c(116.4052, 39.9001), c(116.5, 39.95), c(116.4001, 39.9059)];
        let m = net.matrix(&points);
        for i in 0..4 {
            for j in 0..4 {
                let single = if i == j { 0.0 } else { net.metres(points[i], points[j]) };
                assert!((m[i * 4 + j] - single).abs() < 1e-6, "{i} {j}: {} vs {single}", m[i * 4 + j]);
                assert!(m[i * 4 + j].is_finite());
            }
        }
        assert_eq!(net.segments(), 24, "the fragment's segment is not joinable");
    }

    #[test]
    fn no_streets_means_straight_lines() {
        let net = StreetNetwork::new(&Vec::new());
        let (a, b) = (c(116.40, 39.90), c(116.41, 39.91));
        assert_eq!(net.route(a, b), (Geodesic.metres(a, b), vec![a, b]));
    }
}
