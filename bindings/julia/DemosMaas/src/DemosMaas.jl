"""
    DemosMaas

Julia binding of libdemos_maas.so (Demos.Maas, Models as a Service) through `ccall`.

Points are the columns of a `Matrix{Float64}` of size (d, n): Julia's column-major (d, n) has the
memory layout of the C ABI's row-major n × d, so arrays cross the boundary without copies.

The library is found through `ENV["DEMOS_MAAS_LIBRARY"]`, else `bindings/build/native/libdemos_maas.so`
relative to this package, else the system library path.
"""
module DemosMaas

using Libdl

export Client, RemoteModel, Server, MaasError, model, log_density, evaluate, gradient, sample,
       read_data, parameters, parameter, update_parameter!, update_parameters!, register!, register_example!,
       listen!, start!, serve, stop!, endpoints, list_models, info, status_name, hascapability,
       CAP_EVALUATE, CAP_LOG_DENSITY, CAP_SAMPLE, CAP_GRADIENT_X, CAP_GRADIENT_THETA, CAP_EVALUATE_VJP,
       CAP_EVALUATE_JVP, CAP_DATA, CAP_PARAMETERS

# Capability bits of maas_model_capabilities (MAAS_CAP_* in demos_maas.h, the protocol's set).
const CAP_EVALUATE = UInt32(1)
const CAP_LOG_DENSITY = UInt32(2)
const CAP_SAMPLE = UInt32(4)
const CAP_GRADIENT_X = UInt32(8)
const CAP_GRADIENT_THETA = UInt32(16)
const CAP_EVALUATE_VJP = UInt32(32)
const CAP_EVALUATE_JVP = UInt32(64)
const CAP_DATA = UInt32(128)
const CAP_PARAMETERS = UInt32(256)

"""A failed call: `code` is the protocol status (1..13), `status` its name (from `maas_status_name`)."""
struct MaasError <: Exception
    code::Int
    status::String
    message::String
end
Base.showerror(io::IO, e::MaasError) = print(io, e.status, ": ", e.message)

const LIBRARY = Ref{Ptr{Cvoid}}(C_NULL)
const SYMBOLS = Dict{Symbol,Ptr{Cvoid}}()
const SYMBOL_LOCK = ReentrantLock()

function library_path()
    haskey(ENV, "DEMOS_MAAS_LIBRARY") && return ENV["DEMOS_MAAS_LIBRARY"]
    local_build = normpath(joinpath(@__DIR__, "..", "..", "..", "build", "native", "libdemos_maas.so"))
    isfile(local_build) ? local_build : "libdemos_maas"
end

sym(name::Symbol) = lock(SYMBOL_LOCK) do
    get!(() -> Libdl.dlsym(LIBRARY[], name), SYMBOLS, name)
end

"""The protocol name of a status code ("NotFound", ...; "Unknown" for other numbers), from the library."""
status_name(code::Integer) = unsafe_string(ccall(sym(:maas_status_name), Cstring, (Cint,), code))

function check(status::Cint)
    status == 0 && return nothing
    message = unsafe_string(ccall(sym(:maas_last_error), Cstring, ()))
    throw(MaasError(Int(status), status_name(status), message))
end

function take_string(p::Ptr{UInt8})
    p == C_NULL && return ""
    s = unsafe_string(p)
    ccall(sym(:maas_free), Cvoid, (Ptr{UInt8},), p)
    s
end

"""The native library's version."""
version() = unsafe_string(ccall(sym(:maas_version), Cstring, ()))

json_array(v) = "[" * join((repr(Float64(x)) for x in v), ",") * "]"
json_string(s::AbstractString) = "\"" * replace(s, "\\" => "\\\\", "\"" => "\\\"") * "\""

# ---- client -------------------------------------------------------------------------------------

"""
    Client(uri; timeout=nothing, connect_timeout=nothing, credentials=nothing, tls=nothing)

A connection to a MaaS server ("pipe:///path.sock", "tcp://host:port", "tls://host:port"). Closed by
`close` (or the finalizer). Thread-safe. `credentials` is an API key for servers that authenticate
their callers; `tls` a JSON object text as the C ABI's `"tls"` option, e.g.
`"{\"trustedCa\": \"ca.pem\"}"`.
"""
mutable struct Client
    handle::Ptr{Cvoid}
    uri::String
    function Client(uri::AbstractString; timeout=nothing, connect_timeout=nothing, credentials=nothing, tls=nothing)
        opts = String[]
        timeout === nothing || push!(opts, "\"timeout_ms\": $(round(Int, 1000timeout))")
        connect_timeout === nothing || push!(opts, "\"connect_timeout_ms\": $(round(Int, 1000connect_timeout))")
        credentials === nothing || push!(opts, "\"credentials\": $(json_string(credentials))")
        tls === nothing || push!(opts, "\"tls\": $tls")
        handle = Ref{Ptr{Cvoid}}(C_NULL)
        json = isempty(opts) ? nothing : "{" * join(opts, ",") * "}"
        GC.@preserve json check(ccall(sym(:maas_client_connect), Cint, (Cstring, Ptr{UInt8}, Ref{Ptr{Cvoid}}),
            uri, json === nothing ? C_NULL : pointer(json), handle))
        client = new(handle[], String(uri))
        finalizer(c -> c.handle == C_NULL || ccall(sym(:maas_client_close), Cint, (Ptr{Cvoid},), c.handle), client)
        client
    end
end

"""Closes the connection; later calls throw MaasError(InvalidArgument)."""
function Base.close(c::Client)
    handle, c.handle = c.handle, C_NULL
    check(ccall(sym(:maas_client_close), Cint, (Ptr{Cvoid},), handle))
end

"""JSON array of the server's model infos."""
function list_models(c::Client)
    out = Ref{Ptr{UInt8}}(C_NULL)
    check(ccall(sym(:maas_client_list_models), Cint, (Ptr{Cvoid}, Ref{Ptr{UInt8}}), c.handle, out))
    take_string(out[])
end

"""
A remote model: callable on a (d, n) matrix of points. Its description comes from the library's
accessors (no JSON): `name`, `uuid`, `version`, `input_dim`, `output_dim`, `parameter_count` (the
length of θ), `parameter_names`, `parameter_sizes` and `capabilities` (`CAP_*` bits).
"""
struct RemoteModel
    client::Client
    name::String
    uuid::String
    version::String
    input_dim::Int
    output_dim::Int
    parameter_count::Int
    capabilities::UInt32
    parameter_names::Vector{String}
    parameter_sizes::Vector{Int}
end

function model_number(c::Client, name::AbstractString, accessor::Symbol)
    value = Ref{Int64}(0)
    check(ccall(sym(accessor), Cint, (Ptr{Cvoid}, Cstring, Ref{Int64}), c.handle, name, value))
    Int(value[])
end

function model_text(c::Client, name::AbstractString, accessor::Symbol)
    out = Ref{Ptr{UInt8}}(C_NULL)
    check(ccall(sym(accessor), Cint, (Ptr{Cvoid}, Cstring, Ref{Ptr{UInt8}}), c.handle, name, out))
    take_string(out[])
end

function model_capabilities(c::Client, name::AbstractString)
    caps = Ref{UInt32}(0)
    check(ccall(sym(:maas_model_capabilities), Cint, (Ptr{Cvoid}, Cstring, Ref{UInt32}), c.handle, name, caps))
    caps[]
end

function parameter_sizes(c::Client, name::AbstractString)
    count = Ref{Int64}(0)
    # A call without a buffer reports the number of parameters (and fails when there are any).
    status = ccall(sym(:maas_model_parameter_sizes), Cint, (Ptr{Cvoid}, Cstring, Ptr{Int64}, Int64, Ref{Int64}),
        c.handle, name, C_NULL, 0, count)
    status != 0 && count[] == 0 && check(status)
    sizes = Vector{Int64}(undef, count[])
    GC.@preserve sizes check(ccall(sym(:maas_model_parameter_sizes), Cint, (Ptr{Cvoid}, Cstring, Ptr{Int64}, Int64, Ref{Int64}),
        c.handle, name, sizes, length(sizes), count))
    Vector{Int}(sizes)
end

function parameter_name(c::Client, name::AbstractString, index::Integer)
    out = Ref{Ptr{UInt8}}(C_NULL)
    check(ccall(sym(:maas_model_parameter_name), Cint, (Ptr{Cvoid}, Cstring, Int64, Ref{Ptr{UInt8}}),
        c.handle, name, index - 1, out))
    take_string(out[])
end

"""The model called `name` (or with that uuid) on the server."""
function model(c::Client, name::AbstractString)
    canonical = model_text(c, name, :maas_model_name)  # NotFound for an unknown model
    sizes = parameter_sizes(c, canonical)
    RemoteModel(c, canonical, model_text(c, canonical, :maas_model_uuid), model_text(c, canonical, :maas_model_version),
        model_number(c, canonical, :maas_model_input_dim), model_number(c, canonical, :maas_model_output_dim),
        model_number(c, canonical, :maas_model_parameter_count), model_capabilities(c, canonical),
        String[parameter_name(c, canonical, i) for i in eachindex(sizes)], sizes)
end

"""True when the model has every capability in `caps` (`CAP_*` bits, combined with `|`)."""
hascapability(m::RemoteModel, caps::Integer) = (m.capabilities & UInt32(caps)) == UInt32(caps)

"""The model's whole info document as JSON (description, authors, bounds, ...)."""
function info(m::RemoteModel)
    out = Ref{Ptr{UInt8}}(C_NULL)
    check(ccall(sym(:maas_client_model_info), Cint, (Ptr{Cvoid}, Cstring, Ref{Ptr{UInt8}}), m.client.handle, m.name, out))
    take_string(out[])
end

as_points(m::RemoteModel, x::AbstractVector{<:Real}) = m.input_dim == 1 ? reshape(Vector{Float64}(x), 1, :) : reshape(Vector{Float64}(x), :, 1)
as_points(::RemoteModel, x::AbstractMatrix{<:Real}) = x isa Matrix{Float64} ? x : Matrix{Float64}(x)
theta_args(theta) = theta === nothing ? (C_NULL, 0) : (pointer(theta), length(theta))

"""log p(x[:, i] | theta) for each column of x: a Vector of length n."""
function log_density(m::RemoteModel, x::AbstractVecOrMat{<:Real}; theta::Union{Nothing,Vector{Float64}}=nothing)
    X = as_points(m, x)
    d, n = size(X)
    out = Vector{Float64}(undef, n)
    tp, tn = theta_args(theta)
    GC.@preserve X theta out check(ccall(sym(:maas_log_density), Cint,
        (Ptr{Cvoid}, Cstring, Ptr{Float64}, Int64, Int64, Ptr{Float64}, Int64, Ptr{Float64}, Int64, Ptr{Int64}),
        m.client.handle, m.name, X, n, d, tp, tn, out, n, C_NULL))
    out
end

(m::RemoteModel)(x; kwargs...) = hascapability(m, CAP_LOG_DENSITY) ? log_density(m, x; kwargs...) : evaluate(m, x; kwargs...)

"""F(theta; x[:, i]) for each column: an (output_dim, n) matrix."""
function evaluate(m::RemoteModel, x::AbstractVecOrMat{<:Real}; theta::Union{Nothing,Vector{Float64}}=nothing)
    X = as_points(m, x)
    d, n = size(X)
    out = Matrix{Float64}(undef, m.output_dim, n)
    tp, tn = theta_args(theta)
    GC.@preserve X theta out check(ccall(sym(:maas_evaluate), Cint,
        (Ptr{Cvoid}, Cstring, Ptr{Float64}, Int64, Int64, Ptr{Float64}, Int64, Ptr{Float64}, Int64, Ptr{Int64}),
        m.client.handle, m.name, X, n, d, tp, tn, out, length(out), C_NULL))
    out
end

const GRADIENT_KINDS = Dict(:x => 1, :theta => 2, :vjp => 3, :jvp => 4)

"""A derivative: kind :x → (d, n), :theta → (p, n), :vjp (vector (output_dim, n)) → (d, n), :jvp (vector (d, n)) → (output_dim, n)."""
function gradient(m::RemoteModel, x::AbstractVecOrMat{<:Real}; kind::Symbol=:x, vector=nothing,
                  theta::Union{Nothing,Vector{Float64}}=nothing)
    X = as_points(m, x)
    d, n = size(X)
    rows = Dict(:x => m.input_dim, :theta => m.parameter_count, :vjp => m.input_dim, :jvp => m.output_dim)[kind]
    out = Matrix{Float64}(undef, rows, n)
    V = vector === nothing ? nothing : Matrix{Float64}(vector)
    vp, vn = V === nothing ? (C_NULL, 0) : (pointer(V), length(V))
    tp, tn = theta_args(theta)
    GC.@preserve X V theta out check(ccall(sym(:maas_gradient), Cint,
        (Ptr{Cvoid}, Cstring, Cint, Ptr{Float64}, Int64, Int64, Ptr{Float64}, Int64, Ptr{Float64}, Int64, Ptr{Float64}, Int64, Ptr{Int64}),
        m.client.handle, m.name, GRADIENT_KINDS[kind], X, n, d, vp, vn, tp, tn, out, length(out), C_NULL))
    out
end

"""n draws as a (d, n) matrix; the same seed gives the same draws."""
function sample(m::RemoteModel, n::Integer; seed::Integer=0, theta::Union{Nothing,Vector{Float64}}=nothing)
    out = Matrix{Float64}(undef, m.input_dim, n)
    tp, tn = theta_args(theta)
    GC.@preserve theta out check(ccall(sym(:maas_sample), Cint,
        (Ptr{Cvoid}, Cstring, UInt64, Int64, Ptr{Float64}, Int64, Ptr{Float64}, Int64, Ptr{Int64}),
        m.client.handle, m.name, UInt64(seed), n, tp, tn, out, length(out), C_NULL))
    out
end

"""Rows [offset, offset+count) of a dataset, as a (columns, rows) matrix."""
function read_data(m::RemoteModel, dataset::AbstractString; offset::Integer=0, count::Integer=-1)
    rows, cols = Ref{Int64}(0), Ref{Int64}(0)
    status = ccall(sym(:maas_read_data), Cint, (Ptr{Cvoid}, Cstring, Cstring, Int64, Int64, Ptr{Float64}, Int64, Ref{Int64}, Ref{Int64}),
        m.client.handle, m.name, dataset, offset, count, C_NULL, 0, rows, cols)
    status != 0 && rows[] * cols[] == 0 && check(status)
    out = Matrix{Float64}(undef, cols[], rows[])
    GC.@preserve out check(ccall(sym(:maas_read_data), Cint, (Ptr{Cvoid}, Cstring, Cstring, Int64, Int64, Ptr{Float64}, Int64, Ref{Int64}, Ref{Int64}),
        m.client.handle, m.name, dataset, offset, rows[], out, length(out), rows, cols))
    out
end

"""The parameters as JSON: {"version": v, "values": {...}}."""
function parameters(m::RemoteModel)
    out = Ref{Ptr{UInt8}}(C_NULL)
    check(ccall(sym(:maas_get_parameters), Cint, (Ptr{Cvoid}, Cstring, Ref{Ptr{UInt8}}), m.client.handle, m.name, out))
    take_string(out[])
end

"""One parameter's values."""
function parameter(m::RemoteModel, name::AbstractString)
    len = Ref{Int64}(0)
    status = ccall(sym(:maas_get_parameter), Cint, (Ptr{Cvoid}, Cstring, Cstring, Ptr{Float64}, Int64, Ref{Int64}),
        m.client.handle, m.name, name, C_NULL, 0, len)
    status != 0 && len[] <= 0 && check(status)
    out = Vector{Float64}(undef, len[])
    GC.@preserve out check(ccall(sym(:maas_get_parameter), Cint, (Ptr{Cvoid}, Cstring, Cstring, Ptr{Float64}, Int64, Ref{Int64}),
        m.client.handle, m.name, name, out, length(out), len))
    out
end

update_parameter!(m::RemoteModel, name::AbstractString, values::AbstractVector{<:Real}) = (v = Vector{Float64}(values);
    GC.@preserve v check(ccall(sym(:maas_update_parameter), Cint, (Ptr{Cvoid}, Cstring, Cstring, Ptr{Float64}, Int64),
        m.client.handle, m.name, name, v, length(v))))

"""Updates several parameters: `update_parameters!(m, "mu" => [1, 2], "sigma" => [0.5])`; returns the new JSON."""
function update_parameters!(m::RemoteModel, values::Pair...)
    body = "{" * join((json_string(String(k)) * ":" * json_array(v) for (k, v) in values), ",") * "}"
    out = Ref{Ptr{UInt8}}(C_NULL)
    check(ccall(sym(:maas_update_parameters), Cint, (Ptr{Cvoid}, Cstring, Cstring, Ref{Ptr{UInt8}}), m.client.handle, m.name, body, out))
    take_string(out[])
end

# ---- server -------------------------------------------------------------------------------------

struct ModelCallbacks
    user_data::Ptr{Cvoid}
    log_density::Ptr{Cvoid}
    gradient::Ptr{Cvoid}
    gradient_theta::Ptr{Cvoid}
    evaluate::Ptr{Cvoid}
    vjp::Ptr{Cvoid}
    jvp::Ptr{Cvoid}
    sampler::Ptr{Cvoid}
end

"""The Julia functions of one served model (kept alive by the Server)."""
mutable struct ServedModel
    log_density::Union{Nothing,Function}
    gradient::Union{Nothing,Function}
    evaluate::Union{Nothing,Function}
    sampler::Union{Nothing,Function}
    output_dim::Int
end

"""
    Server(; listen=["tcp://127.0.0.1:5000"], workers=0, log_level="warning", security=nothing, tls=nothing)

`security` and `tls` are JSON object texts as the C ABI's server configuration sections
(docs/security.md): API keys and roles, and the certificates of tls:// listeners.

Serves Julia functions. Callbacks run on the library's threads (adopted by Julia, ≥ 1.9), several at
once unless a model is registered with `serial=true`. Serve from a process whose main task waits in
`serve` (it sleeps in Julia, so the GC can run); do not call a client of the same process's server
from a blocking `ccall` before Julia 1.12.
"""
mutable struct Server
    handle::Ptr{Cvoid}
    models::Vector{ServedModel}
    stopped::Threads.Atomic{Bool}
    function Server(; listen=String[], workers::Integer=0, log_level::AbstractString="warning", security=nothing, tls=nothing)
        uris = listen isa AbstractString ? [listen] : collect(listen)
        extra = (security === nothing ? "" : ", \"security\": $security") * (tls === nothing ? "" : ", \"tls\": $tls")
        config = "{\"listen\": [" * join(json_string.(uris), ",") * "], \"workers\": $workers, \"log_level\": $(json_string(log_level))$extra}"
        handle = Ref{Ptr{Cvoid}}(C_NULL)
        check(ccall(sym(:maas_server_create), Cint, (Cstring, Ref{Ptr{Cvoid}}), config, handle))
        server = new(handle[], ServedModel[], Threads.Atomic{Bool}(false))
        finalizer(s -> s.handle == C_NULL || ccall(sym(:maas_server_free), Cint, (Ptr{Cvoid},), s.handle), server)
        server
    end
end

function callback_error(e)
    message = sprint(showerror, e)
    ccall(sym(:maas_callback_error), Cvoid, (Cstring,), replace(message, '\0' => ' '))
    Cint(1)
end

points_view(x::Ptr{Float64}, n, d) = n * d == 0 ? zeros(Float64, d, n) : unsafe_wrap(Matrix{Float64}, x, (Int(d), Int(n)))
theta_view(t::Ptr{Float64}, p) = p == 0 ? Float64[] : unsafe_wrap(Vector{Float64}, t, Int(p))

function log_density_trampoline(x::Ptr{Float64}, n::Int64, d::Int64, t::Ptr{Float64}, p::Int64, out::Ptr{Float64}, user::Ptr{Cvoid})::Cint
    try
        m = unsafe_pointer_to_objref(user)::ServedModel
        r = m.log_density(points_view(x, n, d), theta_view(t, p))
        length(r) == n || error("the model returned $(length(r)) values, expected $n")
        n > 0 && copyto!(unsafe_wrap(Vector{Float64}, out, Int(n)), r)
        Cint(0)
    catch e
        callback_error(e)
    end
end

function gradient_trampoline(x::Ptr{Float64}, n::Int64, d::Int64, t::Ptr{Float64}, p::Int64, out::Ptr{Float64}, user::Ptr{Cvoid})::Cint
    try
        m = unsafe_pointer_to_objref(user)::ServedModel
        r = m.gradient(points_view(x, n, d), theta_view(t, p))
        length(r) == n * d || error("the gradient has $(length(r)) values, expected $(n * d)")
        n * d > 0 && copyto!(unsafe_wrap(Vector{Float64}, out, Int(n * d)), vec(r))
        Cint(0)
    catch e
        callback_error(e)
    end
end

function evaluate_trampoline(x::Ptr{Float64}, n::Int64, d::Int64, t::Ptr{Float64}, p::Int64, out::Ptr{Float64}, user::Ptr{Cvoid})::Cint
    try
        m = unsafe_pointer_to_objref(user)::ServedModel
        r = m.evaluate(points_view(x, n, d), theta_view(t, p))
        length(r) == n * m.output_dim || error("evaluate returned $(length(r)) values, expected $(n * m.output_dim)")
        length(r) > 0 && copyto!(unsafe_wrap(Vector{Float64}, out, length(r)), vec(r))
        Cint(0)
    catch e
        callback_error(e)
    end
end

function sampler_trampoline(seed::UInt64, n::Int64, d::Int64, t::Ptr{Float64}, p::Int64, out::Ptr{Float64}, user::Ptr{Cvoid})::Cint
    try
        m = unsafe_pointer_to_objref(user)::ServedModel
        r = m.sampler(Int(n), seed, theta_view(t, p))
        length(r) == n * d || error("the sampler returned $(length(r)) values, expected $(n * d)")
        n * d > 0 && copyto!(unsafe_wrap(Vector{Float64}, out, Int(n * d)), vec(r))
        Cint(0)
    catch e
        callback_error(e)
    end
end

const TRAMPOLINES = Dict{Symbol,Ptr{Cvoid}}()

"""
    register!(server, name, input_dim; log_density, gradient, evaluate, output_dim, sampler, parameters, serial)

Functions take points as a (d, n) matrix and theta as a vector: `log_density(x, θ)` → n values,
`gradient(x, θ)` → (d, n), `evaluate(x, θ)` → (output_dim, n), `sampler(n, seed, θ)` → (d, n).
`parameters`: pairs `"mu" => [0.0, 0.0]`. A thrown exception becomes ModelError at the caller.
"""
function register!(s::Server, name::AbstractString, input_dim::Integer; log_density=nothing, gradient=nothing,
                   evaluate=nothing, output_dim::Integer=0, sampler=nothing, parameters=Pair[], serial::Bool=false)
    served = ServedModel(log_density, gradient, evaluate, sampler, output_dim)
    push!(s.models, served)  # keeps the functions (and the user_data pointer) alive
    params = join(("{\"name\":" * json_string(String(k)) * ",\"default\":" * json_array(v) * "}" for (k, v) in parameters), ",")
    meta = "{\"name\":" * json_string(name) * ",\"input_dim\":$input_dim,\"output_dim\":$output_dim,\"parameters\":[" * params * "]}"
    cb = Ref(ModelCallbacks(pointer_from_objref(served),
        log_density === nothing ? C_NULL : TRAMPOLINES[:log_density],
        gradient === nothing ? C_NULL : TRAMPOLINES[:gradient], C_NULL,
        evaluate === nothing ? C_NULL : TRAMPOLINES[:evaluate], C_NULL, C_NULL,
        sampler === nothing ? C_NULL : TRAMPOLINES[:sampler]))
    check(ccall(sym(:maas_server_register_model), Cint, (Ptr{Cvoid}, Cstring, Ref{ModelCallbacks}, UInt32),
        s.handle, meta, cb, serial ? UInt32(1) : UInt32(0)))
    s
end

"""Hosts one of the library's built-in example models ("gaussian1d", "gaussian2d", "decay")."""
register_example!(s::Server, name::AbstractString) =
    (check(ccall(sym(:maas_server_register_example), Cint, (Ptr{Cvoid}, Cstring), s.handle, name)); s)

"""Binds one more URI now; returns the actual address."""
function listen!(s::Server, uri::AbstractString)
    out = Ref{Ptr{UInt8}}(C_NULL)
    check(ccall(sym(:maas_server_listen), Cint, (Ptr{Cvoid}, Cstring, Ref{Ptr{UInt8}}), s.handle, uri, out))
    take_string(out[])
end

start!(s::Server) = (check(ccall(sym(:maas_server_start), Cint, (Ptr{Cvoid},), s.handle)); s)

function endpoint(s::Server, index::Integer)
    out = Ref{Ptr{UInt8}}(C_NULL)
    check(ccall(sym(:maas_server_endpoint), Cint, (Ptr{Cvoid}, Int64, Ref{Ptr{UInt8}}), s.handle, index, out))
    take_string(out[])
end

"""The bound URIs."""
function endpoints(s::Server)
    count = Ref{Int64}(0)
    check(ccall(sym(:maas_server_endpoint_count), Cint, (Ptr{Cvoid}, Ref{Int64}), s.handle, count))
    String[endpoint(s, index) for index in 0:count[]-1]
end

"""Starts and waits (sleeping in Julia, so the GC and callbacks can run) until `stop!` or Ctrl-C."""
function serve(s::Server)
    start!(s)
    try
        while !s.stopped[]
            sleep(0.1)
        end
    catch e
        e isa InterruptException || rethrow()
    end
    stop!(s)
end

function stop!(s::Server)
    s.stopped[] = true
    s.handle == C_NULL || check(ccall(sym(:maas_server_stop), Cint, (Ptr{Cvoid},), s.handle))
end

function Base.close(s::Server)
    s.stopped[] = true
    handle, s.handle = s.handle, C_NULL
    check(ccall(sym(:maas_server_free), Cint, (Ptr{Cvoid},), handle))
end

function __init__()
    LIBRARY[] = Libdl.dlopen(library_path())
    empty!(SYMBOLS)
    # C function pointers must be made at run time, not during precompilation.
    TRAMPOLINES[:log_density] = @cfunction(log_density_trampoline, Cint, (Ptr{Float64}, Int64, Int64, Ptr{Float64}, Int64, Ptr{Float64}, Ptr{Cvoid}))
    TRAMPOLINES[:gradient] = @cfunction(gradient_trampoline, Cint, (Ptr{Float64}, Int64, Int64, Ptr{Float64}, Int64, Ptr{Float64}, Ptr{Cvoid}))
    TRAMPOLINES[:evaluate] = @cfunction(evaluate_trampoline, Cint, (Ptr{Float64}, Int64, Int64, Ptr{Float64}, Int64, Ptr{Float64}, Ptr{Cvoid}))
    TRAMPOLINES[:sampler] = @cfunction(sampler_trampoline, Cint, (UInt64, Int64, Int64, Ptr{Float64}, Int64, Ptr{Float64}, Ptr{Cvoid}))
end

end # module
