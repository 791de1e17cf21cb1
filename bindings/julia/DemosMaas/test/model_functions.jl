# The served model's functions, also evaluated natively by the tests.
normal_logp(x, θ) = vec(sum(-0.5 .* ((x .- θ[1:2]) ./ θ[3:4]) .^ 2 .- log.(θ[3:4]) .- 0.5log(2π); dims=1))
normal_grad(x, θ) = -(x .- θ[1:2]) ./ θ[3:4] .^ 2

# Reproducible from the chunk seed alone: a small xorshift generator (Box-Muller normals).
function normal_sampler(n, seed, θ)
    state = seed == 0 ? UInt64(0x9e3779b97f4a7c15) : UInt64(seed)
    next() = (state ⊻= state << 13; state ⊻= state >> 7; state ⊻= state << 17; (state >> 11) / 2.0^53)
    out = Matrix{Float64}(undef, 2, n)
    for i in 1:n, j in 1:2
        out[j, i] = θ[j] + θ[2 + j] * sqrt(-2log(1 - next())) * cos(2π * next())
    end
    out
end
