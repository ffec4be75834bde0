//! Time of one IterativeRS merge of three experts when the experts live on MPI ranks, at the
//! benchmarked shapes (`qm9`: the paper's, `small`: the shipped SMILES policy's). Run it on
//! 1 and on 3 ranks (docs/scaling.md):
//!
//! ```text
//! cargo bench --features mpi --bench merge_ranks
//! mpirun --allow-run-as-root --oversubscribe -np 3 target/release/deps/merge_ranks-<hash>
//! ```
//!
//! Per shape, rank 0 prints the median over repeats of:
//! - `gather+merge`: what the strategies do. Each rank serialises the experts it owns
//!   (burnpack), every rank gathers all of them (MPI `Allgatherv`), rebuilds the others' and
//!   merges the three in expert order: the result is bit-identical to one process.
//! - `allreduce`: the textbook alternative. Each rank adds its weighted experts into one flat
//!   f32 vector and MPI sums the vectors (`Allreduce`), then every rank rebuilds the policy.
//!   Less traffic, but the summation order is MPI's, so not bit-identical.
//!
//! On one rank both are the in-process merge (nothing to exchange). Not a criterion bench: it
//! runs under `mpirun`, and criterion's runner is not MPI-aware.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use multireward::distributed::{Communicator, Mpi, owner};
use multireward::merge::{Linear, Merger};
use multireward::policy::{Gpt, GptConfig};
use std::time::Instant;

mod common;

const EXPERTS: usize = 3;
const REPEATS: usize = 7;

/// Expert `k` of a shape (seeded as on every rank).
fn expert(device: &Device, config: &GptConfig, k: usize) -> Gpt {
    device.seed(k as u64);
    config.init(device)
}

/// Every float parameter, flattened, in visiting order.
#[derive(Default)]
struct Flatten(Vec<f32>);

impl ModuleVisitor for Flatten {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.extend(param.val().into_data().iter::<f32>());
    }
}

/// Writes flat values back, parameter by parameter.
struct Unflatten<'v> {
    values: &'v [f32],
    at: usize,
}

impl ModuleMapper for Unflatten<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        param.map(|t| {
            let n = t.shape().num_elements();
            let data = TensorData::new(self.values[self.at..self.at + n].to_vec(), t.shape());
            self.at += n;
            Tensor::from_data(data, &t.device())
        })
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    common::keep_freed_memory();
    let comm = Mpi::init().expect("MPI initialises once");
    let (rank, size) = (comm.rank(), comm.size());
    let device = multireward::device::device_from_env().expect("a compiled backend");
    let weights = [1.0 / EXPERTS as f64; EXPERTS];
    if rank == 0 {
        println!("ranks {size}, {EXPERTS} experts, median of {REPEATS} merges");
        println!("shape  params  bytes/expert  gather+merge (s)  allreduce (s)");
    }
    for (name, config) in common::shapes() {
        let template = config.init(&device);
        let mine: Vec<(usize, Gpt)> = (0..EXPERTS)
            .filter(|&k| owner(k, size) == rank)
            .map(|k| (k, expert(&device, &config, k)))
            .collect();
        let params = template.num_params();
        let (mut gather_times, mut reduce_times) = (Vec::new(), Vec::new());
        let bytes_per_expert = template.clone().into_record().into_bytes().unwrap().len();
        for _ in 0..REPEATS {
            // gather+merge
            let t0 = Instant::now();
            let mut all: Vec<Option<Gpt>> = vec![None; EXPERTS];
            let mut message = Vec::new();
            for (k, m) in &mine {
                all[*k] = Some(m.clone());
                if size == 1 {
                    continue; // one process: nothing to exchange (as the strategies)
                }
                let b = m.clone().into_record().into_bytes().unwrap();
                message.extend_from_slice(&(*k as u64).to_le_bytes());
                message.extend_from_slice(&(b.len() as u64).to_le_bytes());
                message.extend_from_slice(&b);
            }
            let gathered = match size {
                1 => Vec::new(),
                _ => comm.all_gather(&message).unwrap(),
            };
            for (r, bytes) in gathered.into_iter().enumerate() {
                let mut at = 0;
                while r != rank && at < bytes.len() {
                    let word = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
                    let (k, len) = (word(at) as usize, word(at + 8) as usize);
                    let rec = ModuleRecord::from_bytes(Bytes::from_bytes_vec(
                        bytes[at + 16..at + 16 + len].to_vec(),
                    ))
                    .unwrap();
                    all[k] = Some(template.clone().load_record(rec));
                    at += 16 + len;
                }
            }
            let refs: Vec<&Gpt> = all.iter().map(|m| m.as_ref().unwrap()).collect();
            let merged = Linear.merge(&refs, &weights, None).unwrap();
            device.sync().unwrap();
            gather_times.push(t0.elapsed().as_secs_f64());
            drop(merged);

            // allreduce
            let t0 = Instant::now();
            let merged = if size == 1 {
                let refs: Vec<&Gpt> = mine.iter().map(|(_, m)| m).collect();
                Linear.merge(&refs, &weights, None).unwrap()
            } else {
                let mut sum = vec![0f32; params];
                for (k, m) in &mine {
                    let mut f = Flatten::default();
                    m.visit(&mut f);
                    let w = weights[*k] as f32;
                    for (s, x) in sum.iter_mut().zip(&f.0) {
                        *s += w * x;
                    }
                }
                comm.all_reduce_sum(&mut sum).unwrap();
                template.clone().map(&mut Unflatten {
                    values: &sum,
                    at: 0,
                })
            };
            device.sync().unwrap();
            reduce_times.push(t0.elapsed().as_secs_f64());
            drop(merged);
        }
        if rank == 0 {
            println!(
                "{name:<6} {params:>7} {bytes_per_expert:>13} {:>17.4} {:>14.4}",
                median(gather_times),
                median(reduce_times)
            );
        }
    }
}
